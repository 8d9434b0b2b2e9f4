"""Codebook health over a window of steps (code-usage histogram -> perplexity, usage, dead codes)
and the image reconstruction quality papers report (PSNR, SSIM; LPIPS / rFID through a hook)."""

from vqlab.metrics.image_quality import image_quality
from vqlab.metrics.pretrained import PretrainedImageMetrics, ReconstructionFID, to_unit_rgb
from vqlab.metrics.usage import CodeUsage, histogram_statistics
from vqlab.metrics.windows import UsageWindows

__all__ = [
    "CodeUsage",
    "PretrainedImageMetrics",
    "ReconstructionFID",
    "UsageWindows",
    "histogram_statistics",
    "image_quality",
    "to_unit_rgb",
]
