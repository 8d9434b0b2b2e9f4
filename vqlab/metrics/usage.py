"""Codebook health: code-usage histogram over a window -> perplexity, usage, dead fraction.

Perplexity ``exp(H(p))`` of the code distribution ``p`` as in van den Oord et al., 2017,
arXiv:1711.00937 (their reference code) and Dhariwal et al., "Jukebox", 2020, arXiv:2005.00341,
Sec. 2.3 (codebook usage and dead codes).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torchmetrics import Metric

from vqlab.errors import check_positive
from vqlab.functional import entropy


class CodeUsage(Metric):
    """Histogram of code indices accumulated since the last ``reset()``, summed across ranks.

    ``compute()`` returns ``entropy`` H(p) in nats, ``perplexity`` exp(H), ``usage`` (fraction of
    the K codes used at least once in the window), ``dead_fraction`` (1 - usage) and
    ``utilisation`` (H / ln K).
    """

    full_state_update = False
    histogram: Tensor

    def __init__(self, codebook_size: int) -> None:
        super().__init__()
        check_positive("codebook_size", codebook_size)
        self.codebook_size = codebook_size
        self.add_state("histogram", torch.zeros(codebook_size), dist_reduce_fx="sum")

    def update(self, counts: Tensor) -> None:
        """Add a (K,) histogram, e.g. ``QuantizerOutput.counts``."""
        self.histogram += counts.to(self.histogram)

    def compute(self) -> dict[str, Tensor]:
        return histogram_statistics(self.histogram)


def histogram_statistics(histogram: Tensor) -> dict[str, Tensor]:
    """``entropy``, ``perplexity``, ``usage``, ``dead_fraction`` and ``utilisation`` (entropy /
    ln K: 1 for a uniform use of all K codes) of a (K,) code histogram."""
    total = histogram.sum()
    probabilities = histogram / total.clamp_min(1.0)
    code_entropy = entropy(probabilities)
    usage = (histogram > 0).float().mean()
    return {
        "entropy": code_entropy,
        "perplexity": code_entropy.exp(),
        "usage": usage,
        "dead_fraction": 1.0 - usage,
        "utilisation": code_entropy / math.log(max(histogram.numel(), 2)),
    }
