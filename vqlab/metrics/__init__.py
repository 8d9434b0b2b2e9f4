"""Codebook health over a window of steps: code-usage histogram -> perplexity, usage, dead codes."""

from vqlab.metrics.usage import CodeUsage, histogram_statistics
from vqlab.metrics.windows import UsageWindows

__all__ = ["CodeUsage", "UsageWindows", "histogram_statistics"]
