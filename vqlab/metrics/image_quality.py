"""Reconstruction quality of images as papers report it: PSNR and SSIM, from the data's value range.

Images are first mapped from ``value_range`` = (low, high) to [0, 1] and clamped there, since
papers compute both on [0, 1] (or 0..255) images: PSNR does not depend on that choice, but SSIM's
luminance term (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1) depends on where zero is (on [-1, 1]
images it differs, measured: 0.750 instead of 0.800 on one batch).

PSNR = 10 log10(1 / MSE) per image, then the mean over the batch (the per-image mean that
compression and VQ papers average over a test set). SSIM: Wang, Bovik, Sheikh & Simoncelli, "Image
Quality Assessment: From Error Visibility to Structural Similarity", IEEE TIP 13(4), 2004, Eq. 13:
an 11 x 11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, C_i = (K_i R)^2 with R = 1, channels
averaged, the mean of each image's SSIM map, then over the batch. Both are torchmetrics'
functional implementations. torchmetrics pads the borders by reflection, so the map is full size
(on 8 x 8 digits the window reaches far into the reflection: compare SSIM across datasets of one
image size only).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)


def to_unit_range(images: Tensor, value_range: Sequence[float]) -> Tensor:
    """Images in ``value_range`` = (low, high) -> float32 ``(v - low) / (high - low)`` in [0, 1]
    (clamped: a decoder without a squashing output may overshoot)."""
    low, high = float(value_range[0]), float(value_range[1])
    return ((images.float() - low) / (high - low)).clamp(0.0, 1.0)


@torch.no_grad()
def image_quality(x_hat: Tensor, x: Tensor, value_range: Sequence[float]) -> dict[str, Tensor]:
    """``{"psnr": dB, "ssim": in [-1, 1]}``, each the mean over the batch of its per-image value.

    ``x_hat``, ``x``: (b, c, h, w) images in ``value_range``, the datamodule's ``value_range``;
    computed in float32 (safe under bf16 / fp16 autocast), without gradient.
    """
    preds, target = to_unit_range(x_hat, value_range), to_unit_range(x, value_range)
    return {
        "psnr": peak_signal_noise_ratio(preds, target, data_range=1.0, dim=(1, 2, 3)),
        "ssim": structural_similarity_index_measure(preds, target, data_range=1.0),
    }
