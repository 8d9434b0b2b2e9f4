"""k-means init: k-means++ and Lloyd against random init, and the callback that uses them."""

from __future__ import annotations

import pytest
import torch
from codebook_harness import TinyAutoencoder, stand_in_trainer

from vqlab.callbacks import KMeansInit
from vqlab.clustering.kmeans import (
    batched_kmeans_plus_plus,
    kmeans,
    kmeans_plus_plus,
    lloyd,
    quantization_error,
)
from vqlab.errors import ConfigValueError
from vqlab.functional import code_histogram, nearest_code
from vqlab.quantizers import EMAQuantizer, STEQuantizer


def blobs(n: int = 2000, k: int = 8, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    centres = torch.randn(k, 3, generator=generator) * 4
    labels = torch.randint(k, (n,), generator=generator)
    return centres[labels] + 0.1 * torch.randn(n, 3, generator=generator)


def test_kmeans_beats_random_init_on_quantization_error() -> None:
    x = blobs()
    generator = torch.Generator().manual_seed(0)
    random_rows = x[torch.randperm(x.shape[0], generator=generator)[:8]]
    centres, counts = kmeans(x, 8, iterations=10, generator=generator)
    assert quantization_error(x, centres) < 0.5 * quantization_error(x, random_rows)
    assert quantization_error(x, centres) < 0.05  # the blobs' own spread: 3 x 0.1^2
    assert counts.sum() == x.shape[0]


def test_lloyd_step_moves_each_centre_to_the_mean_of_its_points() -> None:
    x = blobs(n=300, k=4, seed=1)
    start = x[:4].clone()
    centres, _ = lloyd(x, start, iterations=1)
    assignment = torch.cdist(x, start).argmin(-1)
    for code in range(4):
        torch.testing.assert_close(centres[code], x[assignment == code].mean(0))


@pytest.mark.parametrize("seeding", [kmeans_plus_plus, batched_kmeans_plus_plus])
def test_seeding_with_fewer_distinct_points_than_centres_does_not_fail(seeding) -> None:
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0]]).repeat(10, 1)
    centres = seeding(x, 5, torch.Generator().manual_seed(0))
    assert centres.shape == (5, 2)
    assert {tuple(row.tolist()) for row in centres} == {(0.0, 0.0), (1.0, 1.0)}


def test_batched_seeding_is_within_2_percent_of_kmeans_plus_plus_after_lloyd() -> None:
    # 32 blobs of uneven size, K = 128 codes: several codes per blob, as a codebook has
    generator = torch.Generator().manual_seed(3)
    centres = torch.randn(32, 8, generator=generator) * 3
    weights = torch.rand(32, generator=generator) + 0.1
    x = centres[torch.multinomial(weights, 4096, True, generator=generator)]
    x = x + 0.5 * torch.randn(4096, 8, generator=generator)
    errors = {}
    for seeding in (kmeans_plus_plus, batched_kmeans_plus_plus):
        seeds = [seeding(x, 128, torch.Generator().manual_seed(s)) for s in range(2)]
        errors[seeding] = torch.stack([quantization_error(x, lloyd(x, c, 10)[0]) for c in seeds])
    assert errors[batched_kmeans_plus_plus].mean() <= 1.02 * errors[kmeans_plus_plus].mean()


def test_batched_seeding_draws_rows_in_proportion_to_squared_distance() -> None:
    # rows at 0, 1 and 3; after a first centre at 0, the row at 3 is drawn 9 times as often as 1
    x = torch.tensor([[0.0], [1.0], [3.0]])
    draws = [
        batched_kmeans_plus_plus(x, 2, torch.Generator().manual_seed(seed), rounds=1)[:, 0]
        for seed in range(600)
    ]
    after_zero = [second.item() for first, second in draws if first == 0.0]
    assert len(after_zero) > 120  # the first centre is uniform: ~200 of 600
    assert after_zero.count(3.0) / len(after_zero) == pytest.approx(0.9, abs=0.07)


@pytest.mark.parametrize("quantizer_class", [EMAQuantizer, STEQuantizer])
def test_kmeans_init_uses_nearly_every_code_at_step_zero_and_sets_ema_statistics(
    quantizer_class,
) -> None:
    torch.manual_seed(0)
    quantizer = quantizer_class(codebook_size=32, dim=4)
    model = TinyAutoencoder(quantizer)
    batches = [torch.randn(64, 6) for _ in range(5)]
    before_usage = (
        code_histogram(model.quantizer.encode(model.encoder(batches[0])), 32) > 0
    ).float()
    callback = KMeansInit(num_batches=4, iterations=10)
    callback.on_train_start(stand_in_trainer(batches), model)
    latents = torch.cat([model.encoder(x) for x in batches[:4]]).detach()
    usage = (code_histogram(nearest_code(latents, quantizer.codebook), 32) > 0).float().mean()
    assert usage >= 0.97
    assert before_usage.mean() < usage
    assert model.training  # the model's mode is restored
    if isinstance(quantizer, EMAQuantizer):
        torch.testing.assert_close(
            quantizer.embed_sum / quantizer.cluster_size.unsqueeze(1), quantizer.codebook
        )
        # counts per step: 4 batches of 64 vectors -> 64 a step
        torch.testing.assert_close(
            quantizer.cluster_size.sum(), torch.tensor(64.0), rtol=0.1, atol=0
        )


def test_kmeans_init_runs_once_and_not_on_resume() -> None:
    model = TinyAutoencoder(EMAQuantizer(codebook_size=8, dim=4))
    callback = KMeansInit(num_batches=1)
    callback.load_state_dict({"done": True})
    before = model.quantizer.codebook.clone()
    callback.on_train_start(stand_in_trainer([torch.randn(16, 6)]), model)
    assert torch.equal(model.quantizer.codebook, before)


@pytest.mark.parametrize("key", ["num_batches", "iterations", "max_vectors"])
def test_non_positive_kmeans_arguments_name_their_key(key) -> None:
    with pytest.raises(ConfigValueError, match=key):
        KMeansInit(**{key: 0})
