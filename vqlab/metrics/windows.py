"""The code-usage windows of a model: one over training steps, one over an evaluation epoch.

Both hold the joint histogram of all of the model's codebooks (their ``counts`` concatenated in
``vqlab.quantizers.naming.leaf_codebooks`` order) as a ``CodeUsage`` state summed across DDP
ranks. ``statistics`` gives the window's codebook health over all codes and, with several
codebooks, per codebook as ``<name>/<metric>`` (``top/usage``, ``stage_1/perplexity``).
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn

from vqlab.errors import check_positive
from vqlab.metrics.usage import CodeUsage, histogram_statistics
from vqlab.quantizers.naming import join_names


class UsageWindows(nn.Module):
    """``train`` (checkpointed: a run resumes mid-window) and ``eval`` code-usage windows.

    ``codebook_sizes`` maps each codebook's display name to its number of codes, in the order of
    the concatenated histograms that ``update`` receives.
    """

    def __init__(self, codebook_sizes: Mapping[str, int]) -> None:
        super().__init__()
        for name, size in codebook_sizes.items():
            check_positive(f"codebook_size of {name or 'the codebook'}", size)
        self.codebook_sizes = dict(codebook_sizes)
        total = sum(self.codebook_sizes.values())
        self.train_window = CodeUsage(total)
        self.eval_window = CodeUsage(total)
        self.train_window.persistent(True)

    def window(self, stage: str) -> CodeUsage:
        """The training window for ``train``, the evaluation window for ``val`` and ``test``."""
        return self.train_window if stage == "train" else self.eval_window

    def statistics(self, stage: str) -> dict[str, Tensor]:
        """The window's statistics summed over ranks: joint, and per codebook when several."""
        usage = self.window(stage)
        with usage.sync_context():  # the histogram summed over ranks, as ``compute`` sees it
            histogram = usage.histogram.clone()
        metrics = histogram_statistics(histogram)
        if len(self.codebook_sizes) > 1:
            parts = histogram.split(list(self.codebook_sizes.values()))
            for name, part in zip(self.codebook_sizes, parts, strict=True):
                metrics |= {
                    join_names(name, metric): value
                    for metric, value in histogram_statistics(part).items()
                }
        return metrics
