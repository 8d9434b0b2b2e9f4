"""The hook for reconstruction metrics that need pretrained networks: LPIPS and rFID.

LPIPS: Zhang et al., "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric",
CVPR 2018, arXiv:1801.03924. rFID: the Frechet Inception Distance (Heusel et al., NeurIPS 2017,
arXiv:1706.08500) between the test images and their reconstructions. Their networks' weights
cannot be downloaded on every machine, so vqlab ships no default: a user hands in torchmetrics
metrics that already hold their networks, e.g. (Hydra nodes)
``lpips: {_target_: torchmetrics.image.lpip.LearnedPerceptualImagePatchSimilarity, net_type:
alex, normalize: true}`` and ``rfid: {_target_: vqlab.metrics.ReconstructionFID}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torchmetrics import Metric
from torchmetrics.image.fid import FrechetInceptionDistance

from vqlab.metrics.image_quality import to_unit_range


def to_unit_rgb(images: Tensor, value_range: Sequence[float]) -> Tensor:
    """(b, c, h, w) images in ``value_range`` -> float32 in [0, 1] (``to_unit_range``), grey
    repeated to RGB (the pretrained networks take three channels)."""
    unit = to_unit_range(images, value_range)
    return unit.repeat(1, 3, 1, 1) if unit.shape[1] == 1 else unit


class PretrainedImageMetrics(nn.Module):
    """Accumulates ``metrics`` (name -> torchmetrics ``Metric`` whose ``update(preds, target)``
    takes RGB images in [0, 1]) over an epoch: ``update(x_hat, x, value_range)`` per batch,
    ``compute()`` -> ``{name: value}`` at the epoch's end (log as ``test/<name>``), ``reset()``.

    The metrics live in a ``ModuleDict``, so they move to the model's device with it; with no
    metrics (the default) every call is a no-op.
    """

    def __init__(self, metrics: Mapping[str, Metric] | None = None) -> None:
        super().__init__()
        self.metrics = nn.ModuleDict(dict(metrics or {}))

    @torch.no_grad()
    def update(self, x_hat: Tensor, x: Tensor, value_range: Sequence[float]) -> None:
        if not self.metrics:
            return
        preds, target = to_unit_rgb(x_hat, value_range), to_unit_rgb(x, value_range)
        for metric in self.metrics.values():
            metric.update(preds, target)

    def compute(self) -> dict[str, Tensor]:
        return {name: metric.compute() for name, metric in self.metrics.items()}

    def reset(self) -> None:
        for metric in self.metrics.values():
            metric.reset()


class ReconstructionFID(FrechetInceptionDistance):
    """rFID: FID between the targets (real) and the reconstructions (fake), as
    ``update(preds, target)`` in [0, 1]. ``feature``: torchmetrics' Inception feature size (its
    weights must be on the machine) or any ``nn.Module`` with ``num_features`` mapping images to
    feature vectors."""

    def __init__(self, feature: int | nn.Module = 2048, **kwargs: Any) -> None:
        super().__init__(feature=feature, normalize=True, **kwargs)

    def update(self, preds: Tensor, target: Tensor) -> None:  # type: ignore[override]
        super().update(target, real=True)
        super().update(preds, real=False)
