"""Code usage of a model with several codebooks (levels): one ``CodeUsage`` window per level.

Each level's histogram is a ``CodeUsage`` state summed across DDP ranks; ``compute()`` names every
statistic ``"{level}/{name}"``, so a model logging it under ``codebook/`` gets
``codebook/top/perplexity``, ``codebook/bottom/usage``, ...
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn

from vqlab.metrics.usage import CodeUsage


class LevelCodeUsage(nn.Module):
    """``CodeUsage`` per level, with CodeUsage's interface: ``update``, ``compute``, ``reset``.

    ``codebook_sizes`` maps each level's name to its number of codes K.
    """

    def __init__(self, codebook_sizes: Mapping[str, int]) -> None:
        super().__init__()
        self.levels = nn.ModuleDict(
            {name: CodeUsage(size) for name, size in codebook_sizes.items()}
        )

    def update(self, counts: Mapping[str, Tensor]) -> None:
        """Add each level's (K,) histogram, e.g. ``{"top": out.top.counts, ...}``."""
        for name, usage in self.levels.items():
            usage.update(counts[name])

    def compute(self) -> dict[str, Tensor]:
        """Every level's statistics (see ``CodeUsage.compute``) as ``"{level}/{name}"``."""
        return {
            f"{level}/{name}": value
            for level, usage in self.levels.items()
            for name, value in usage.compute().items()
        }

    def reset(self) -> None:
        for usage in self.levels.values():
            usage.reset()

    def persistent(self, mode: bool = True) -> None:
        """Whether the histograms go into ``state_dict`` (training windows: yes, to resume)."""
        for usage in self.levels.values():
            usage.persistent(mode)
