"""FSQ against the paper's formulas: the grid per channel, the even-L offset, index bijection."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from vqlab.errors import ConfigValueError
from vqlab.quantizers import FSQQuantizer, GroupedQuantizer, ProjectedQuantizer, ResidualQuantizer


def test_each_channel_takes_at_most_its_levels_values_monotone_in_z() -> None:
    quantizer = FSQQuantizer(4, levels=[8, 5, 4, 3])
    z = torch.linspace(-20, 20, 4001).unsqueeze(1).expand(-1, 4)
    codes = quantizer(z).quantized
    for channel, level in enumerate([8, 5, 4, 3]):
        values = codes[:, channel]
        half = level // 2
        # the L integers -floor(L/2) .. ceil(L/2) - 1 over floor(L/2), every one reached
        expected = torch.arange(-half, level - half, dtype=torch.float32) / half
        torch.testing.assert_close(values.unique(), expected)
        assert (values.diff() >= 0).all()  # monotone in z


def test_bound_is_the_tanh_formula_with_the_half_step_offset_for_even_levels() -> None:
    quantizer = FSQQuantizer(2, levels=[8, 5])
    z = torch.randn(50, 2) * 2
    bounded = quantizer.bound(z).double()
    eps = 1e-3
    for channel, (level, offset) in enumerate([(8, 0.5), (5, 0.0)]):
        half = (level - 1) * (1 - eps) / 2
        shift = math.atanh(offset / half)
        expected = half * torch.tanh(z[:, channel].double() + shift) - offset
        torch.testing.assert_close(bounded[:, channel], expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(quantizer.bound(torch.zeros(1, 2)), torch.zeros(1, 2))


def test_encode_decode_is_a_bijection_over_the_whole_implied_codebook() -> None:
    levels = [3, 4, 2]
    quantizer = FSQQuantizer(3, levels=levels)
    assert quantizer.codebook_size == 24
    # every grid point, written independently of the quantizer: digit / floor(L/2) - 1
    grid = torch.tensor(
        [
            [(d - level // 2) / (level // 2) for d, level in zip(digits, levels, strict=True)]
            for digits in itertools.product(*(range(level) for level in levels))
        ]
    )
    indices = quantizer.indices_of(grid)
    assert sorted(indices.tolist()) == list(range(24))
    assert torch.equal(quantizer.codes_of(indices), grid)
    # and encode reaches every code: an input whose bound is 0.4 from the grid integer, inwards
    integers = grid * quantizer.half_width
    targets = integers - 0.4 * torch.sign(integers + quantizer.offset)
    inputs = torch.atanh((targets + quantizer.offset) / quantizer.half_range) - quantizer.shift
    assert torch.equal(quantizer.encode(inputs), indices)


def test_decode_of_encode_equals_the_quantized_output_exactly_also_projected() -> None:
    torch.manual_seed(0)
    quantizer = FSQQuantizer(16, levels=[8, 5, 5, 5])
    z = torch.randn(7, 9, 16) * 3
    out = quantizer(z)
    assert out.indices.dtype == torch.int64 and out.indices.shape == (7, 9)
    assert int(out.indices.min()) >= 0 and int(out.indices.max()) < 1000
    assert torch.equal(quantizer.decode(quantizer.encode(z)), out.quantized)
    assert out.loss == 0 and out.counts.shape == (1000,) and out.counts.sum() == 63


def test_rounding_passes_the_gradient_straight_through_the_bound() -> None:
    quantizer = FSQQuantizer(2, levels=[8, 5])
    z = torch.randn(10, 2, requires_grad=True)
    upstream = torch.randn(10, 2)
    (grad,) = torch.autograd.grad(quantizer(z).quantized, z, upstream)
    leaf = z.detach().requires_grad_()
    (expected,) = torch.autograd.grad(quantizer.bound(leaf) / quantizer.half_width, leaf, upstream)
    torch.testing.assert_close(grad, expected)


def test_fsq_composes_with_grouped_residual_and_lowdim() -> None:
    torch.manual_seed(0)
    z = torch.randn(20, 8)
    grouped = GroupedQuantizer(
        8, num_groups=2, quantizer=lambda dim: FSQQuantizer(dim, levels=[4, 4])
    )
    residual = ResidualQuantizer(
        8, num_stages=2, quantizer=lambda dim: FSQQuantizer(dim, levels=[5, 5, 5])
    )
    lowdim = ProjectedQuantizer(
        8, codebook_dim=3, quantizer=lambda dim: FSQQuantizer(dim, levels=[5, 5, 5])
    )
    for quantizer, sizes in ((grouped, (16, 16)), (residual, (125, 125)), (lowdim, (125,))):
        out = quantizer(z)
        assert quantizer.codebook_sizes == sizes
        assert out.counts.shape == (sum(sizes),)
        torch.testing.assert_close(quantizer.decode(quantizer.encode(z)), out.quantized)


@pytest.mark.parametrize("levels", [[], [8, 1], [0], [2.5]])
def test_bad_levels_name_the_key(levels) -> None:
    with pytest.raises(ConfigValueError) as error:
        FSQQuantizer(4, levels=levels)
    assert error.value.argument == "levels"


def test_a_latent_dim_below_the_channels_names_dim() -> None:
    with pytest.raises(ConfigValueError) as error:
        FSQQuantizer(2, levels=[8, 5, 5])
    assert error.value.argument == "dim"
