"""Codebook health over a window of steps (code-usage histogram -> perplexity, usage, dead codes)
and the image reconstruction quality papers report (PSNR, SSIM; LPIPS / rFID through a hook)."""

from vqlab.metrics.image_quality import image_quality
from vqlab.metrics.level_usage import LevelCodeUsage
from vqlab.metrics.pretrained import PretrainedImageMetrics, ReconstructionFID, to_unit_rgb
from vqlab.metrics.usage import CodeUsage, histogram_statistics

__all__ = [
    "CodeUsage",
    "LevelCodeUsage",
    "PretrainedImageMetrics",
    "ReconstructionFID",
    "histogram_statistics",
    "image_quality",
    "to_unit_rgb",
]
