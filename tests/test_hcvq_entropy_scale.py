"""HC-VQ entropy scale: both definitions against brute force, and the every-``period`` schedule."""

from __future__ import annotations

import math

import pytest
import torch

from vqlab.errors import ConfigValueError
from vqlab.regularizers import EntropyScale


def _reference_entropy_by_hand(values: list[float]) -> float:
    total = sum(values)
    probabilities = [abs(v / total) for v in values]
    return -sum(p * math.log(p + 1e-8) for p in probabilities)


def _histogram_entropy_by_hand(items: list[int]) -> float:
    counts = {item: items.count(item) for item in set(items)}
    return -sum(c / len(items) * math.log(c / len(items)) for c in counts.values())


def _tiny_batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, 2, 3, generator=generator) * 2 - 1  # images in [-1, 1]
    z_q = torch.rand(2, 2, 2, 3, generator=generator)  # (b, h, w, d) quantized vectors
    counts = torch.tensor([3.0, 0.0, 4.0, 1.0])
    return x, z_q, counts


def test_reference_entropies_equal_brute_force_over_positions_and_input_rows() -> None:
    x, z_q, counts = _tiny_batch()
    entropy_q, entropy_x = EntropyScale("reference").entropies(x, z_q, counts)
    positions = [(b, i, j) for b in range(2) for i in range(2) for j in range(2)]
    position_sums = [sum(z_q[position].tolist()) for position in positions]
    x01 = (x + 1) / 2
    row_sums = [sum(x01[b, 0, i].tolist()) for b in range(2) for i in range(2)]  # along last axis
    assert float(entropy_q) == pytest.approx(_reference_entropy_by_hand(position_sums), rel=1e-5)
    assert float(entropy_x) == pytest.approx(_reference_entropy_by_hand(row_sums), rel=1e-5)


def test_usage_entropies_equal_code_and_intensity_histogram_entropies() -> None:
    x, z_q, counts = _tiny_batch()
    entropy_q, entropy_x = EntropyScale("usage").entropies(x, z_q, counts)
    codes = [0, 0, 0, 2, 2, 2, 2, 3]
    levels = [round((v + 1) / 2 * 255) for v in x.flatten().tolist()]
    assert float(entropy_q) == pytest.approx(_histogram_entropy_by_hand(codes), rel=1e-6)
    assert float(entropy_x) == pytest.approx(_histogram_entropy_by_hand(levels), rel=1e-6)


@pytest.mark.parametrize("definition", ["reference", "usage"])
def test_scale_is_zero_before_the_first_period_and_recomputed_exactly_every_period(
    definition: str,
) -> None:
    period = 4
    scale = EntropyScale(definition, period=period, target_ratio=1.0)
    generator = torch.Generator().manual_seed(1)
    history, window = [], []
    for step in range(1, 3 * period + 1):
        x = torch.rand(3, 1, 4, 4, generator=generator) * 2 - 1
        z_q = torch.rand(3, 2, 2, 5, generator=generator)
        counts = torch.randint(0, 5, (6,), generator=generator).float()
        window.append(scale.entropies(x, z_q, counts))
        value = float(scale.update(x, z_q, counts))
        if step % period == 0:
            mean_q = sum(float(q) for q, _ in window) / period
            mean_x = sum(float(h) for _, h in window) / period
            assert value == pytest.approx(abs(1.0 - mean_q / mean_x), rel=1e-5)
            window = []
        history.append(value)
    assert history[: period - 1] == [0.0] * (period - 1)
    for start in range(0, len(history), period):  # constant between recomputations
        assert len(set(history[start + period - 1 : start + 2 * period - 1])) == 1
    assert len({history[period - 1], history[2 * period - 1], history[3 * period - 1]}) == 3


def test_steps_with_zero_latent_entropy_are_not_accumulated() -> None:
    scale = EntropyScale("usage", period=2)
    x = torch.linspace(-1, 1, 16).reshape(1, 1, 4, 4)
    one_code = torch.tensor([5.0, 0.0, 0.0])  # H_q = 0: skipped, as in the reference
    two_codes = torch.tensor([1.0, 1.0, 0.0])
    scale.update(x, torch.zeros(1, 3), one_code)
    value = scale.update(x, torch.zeros(1, 3), two_codes)
    _, entropy_x = scale.entropies(x, torch.zeros(1, 3), two_codes)
    assert float(value) == pytest.approx(abs(1.0 - math.log(2) / float(entropy_x)), rel=1e-6)


def test_unknown_entropy_definition_is_a_config_error() -> None:
    with pytest.raises(ConfigValueError, match="entropy"):
        EntropyScale("histogram")


@pytest.mark.parametrize("definition", ["reference", "usage"])
def test_input_entropy_of_images_in_0_1_equals_that_of_the_same_images_in_minus1_1(
    definition: str,
) -> None:
    x01 = torch.randint(0, 256, (2, 1, 4, 4), generator=torch.Generator().manual_seed(5)) / 255.0
    z_q, counts = torch.randn(2, 3, 4), torch.tensor([3.0, 1.0, 0.0, 2.0])
    default = EntropyScale(definition)
    unit = EntropyScale(definition)
    unit.input_range = (0.0, 1.0)
    expected = default.entropies(x01 * 2.0 - 1.0, z_q, counts)[1]
    torch.testing.assert_close(unit.entropies(x01, z_q, counts)[1], expected)
