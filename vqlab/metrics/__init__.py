"""Codebook health over a window of steps: code-usage histogram -> perplexity, usage, dead codes."""

from vqlab.metrics.level_usage import LevelCodeUsage
from vqlab.metrics.usage import CodeUsage, histogram_statistics

__all__ = ["CodeUsage", "LevelCodeUsage", "histogram_statistics"]
