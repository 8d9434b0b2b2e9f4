"""PSNR / SSIM of reconstructions, and the hook for metrics with pretrained networks."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from torch import nn
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.regression import MeanSquaredError

from vqlab.metrics import PretrainedImageMetrics, ReconstructionFID, image_quality


def fixed_batch(channels: int = 3, size: int = 28) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth images in [-1, 1] and noisy reconstructions that stray slightly outside."""
    generator = torch.Generator().manual_seed(0)
    coarse = torch.rand(6, channels, size // 4, size // 4, generator=generator)
    x = nn.functional.interpolate(coarse, size=size, mode="bilinear") * 2 - 1
    x_hat = x + 0.15 * torch.randn(x.shape, generator=generator)
    return x_hat, x


def test_values_equal_torchmetrics_functional_on_a_fixed_batch():
    x_hat, x = fixed_batch()
    quality = image_quality(x_hat, x, (-1.0, 1.0))
    unit_hat, unit = (x_hat.clamp(-1, 1) + 1) / 2, (x + 1) / 2
    per_image = peak_signal_noise_ratio(
        unit_hat, unit, data_range=1.0, dim=(1, 2, 3), reduction="none"
    )
    assert quality["psnr"].item() == pytest.approx(per_image.mean().item(), abs=1e-5)
    ssim = structural_similarity_index_measure(unit_hat, unit, data_range=1.0)
    assert quality["ssim"].item() == pytest.approx(ssim.item(), abs=1e-6)
    # PSNR alone would be the same on [-1, 1] images; SSIM's luminance term is not
    assert not torch.isclose(
        quality["ssim"], structural_similarity_index_measure(x_hat, x, data_range=(-1.0, 1.0))
    )


def test_psnr_is_the_mean_over_images_of_ten_log10_range_squared_over_mse():
    x_hat, x = fixed_batch()
    mse = ((x_hat.clamp(-1, 1) - x) ** 2).flatten(1).mean(1).double()  # range R = 2
    expected = (10 * torch.log10(4.0 / mse)).mean()
    assert image_quality(x_hat, x, (-1.0, 1.0))["psnr"].item() == pytest.approx(
        expected.item(), 1e-5
    )


def test_values_do_not_depend_on_the_value_range_the_images_are_in():
    x_hat, x = fixed_batch()
    in_minus_one_one = image_quality(x_hat, x, (-1.0, 1.0))
    in_unit = image_quality((x_hat + 1) / 2, (x + 1) / 2, (0.0, 1.0))
    in_bytes = image_quality((x_hat + 1) * 127.5, (x + 1) * 127.5, (0.0, 255.0))
    for name in ("psnr", "ssim"):
        assert in_unit[name].item() == pytest.approx(in_minus_one_one[name].item(), abs=1e-4)
        assert in_bytes[name].item() == pytest.approx(in_minus_one_one[name].item(), abs=1e-4)


@pytest.mark.skipif(importlib.util.find_spec("skimage") is None, reason="scikit-image missing")
def test_ssim_map_matches_scikit_images_away_from_the_border():
    """scikit-image's SSIM (Gaussian window, sigma 1.5, population covariance, as Wang et al.) is an
    independent implementation; the borders differ (reflection padding), the interior must not."""
    from skimage.metrics import structural_similarity

    x_hat, x = fixed_batch(channels=1)
    x_hat, x = (x_hat.clamp(-1, 1) + 1) / 2, (x + 1) / 2
    _, full = structural_similarity_index_measure(x_hat, x, data_range=1.0, return_full_image=True)
    for index in range(len(x)):
        _, reference = structural_similarity(
            x_hat[index, 0].double().numpy(),
            x[index, 0].double().numpy(),
            data_range=1.0,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            full=True,
        )
        interior = full[index, 0, 5:-5, 5:-5].double().numpy()
        assert np.allclose(interior, reference[5:-5, 5:-5], atol=1e-4)


def test_a_perfect_reconstruction_has_ssim_one_and_worse_ones_score_lower():
    x_hat, x = fixed_batch()
    assert image_quality(x, x, (-1.0, 1.0))["ssim"].item() == pytest.approx(1.0)
    noisier = x + 2 * (x_hat - x)
    worse, better = image_quality(noisier, x, (-1, 1)), image_quality(x_hat, x, (-1, 1))
    assert worse["psnr"] < better["psnr"] and worse["ssim"] < better["ssim"]


class TinyFeatures(nn.Module):
    """A stand-in for Inception: a fixed random projection of the image to 4 features."""

    num_features = 4

    def __init__(self) -> None:
        super().__init__()
        self.projection = nn.Linear(3 * 8 * 8, 4)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.projection(images.float().flatten(1))


def test_hook_feeds_metrics_unit_range_rgb_images_and_accumulates_over_batches():
    x_hat, x = fixed_batch(channels=1, size=8)
    torch.manual_seed(0)
    features = TinyFeatures()
    hook = PretrainedImageMetrics({"mse": MeanSquaredError(), "rfid": ReconstructionFID(features)})
    for rows in (slice(0, 3), slice(3, 6)):
        hook.update(x_hat[rows], x[rows], (-1.0, 1.0))
    values = hook.compute()
    unit_hat, unit = (
        ((x_hat.clamp(-1, 1) + 1) / 2).repeat(1, 3, 1, 1),
        ((x + 1) / 2).repeat(1, 3, 1, 1),
    )
    assert values["mse"].item() == pytest.approx(((unit_hat - unit) ** 2).mean().item(), rel=1e-5)
    fid = FrechetInceptionDistance(feature=features, normalize=True)
    fid.update(unit, real=True)
    fid.update(unit_hat, real=False)
    assert values["rfid"].item() == pytest.approx(fid.compute().item(), rel=1e-4)
    hook.reset()
    assert PretrainedImageMetrics().compute() == {}
