"""Codebook growth curriculum: more live codes at configured training steps.

Seed lever 6: train with ``K_small`` codes until they are in use, then copy them, jittered, into
the larger table (the split step of LBG: Linde, Buzo & Gray, IEEE Trans. Commun. 28(1), 1980,
Sec. III), so the used codes stay alive and the new slots start where the data is.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import lightning as L
import torch
from torch import nn

from vqlab.callbacks.optimizer_rows import reset_rows
from vqlab.errors import ConfigCombinationError, ConfigValueError, check_non_negative
from vqlab.quantizers import GrowingQuantizer


class CodebookGrowth(L.Callback):
    """At the first training batch with ``global_step >= steps[i]``, grow every
    ``GrowingQuantizer`` of the model to ``sizes[i]`` live codes (``GrowingQuantizer.grow``).

    ``jitter`` scales the noise (relative to the live codes' std); ``seed`` seeds it, the same on
    every rank, so every rank grows alike without communication. The optimizer state of the new
    rows of a gradient codebook is zeroed (``vqlab.callbacks.optimizer_rows.reset_rows``), so Adam's
    moments of the rows they overwrite do not carry over. Growth is idempotent on resume: the live
    count is in the quantizer's checkpointed state, and a step whose size is already live is
    skipped.
    """

    def __init__(
        self, steps: Sequence[int], sizes: Sequence[int], jitter: float = 0.01, seed: int = 0
    ) -> None:
        steps, sizes = [int(step) for step in steps], [int(size) for size in sizes]
        if len(steps) != len(sizes) or not steps:
            raise ConfigValueError("sizes", f"one size per step ({len(steps)} steps)", sizes)
        if any(b <= a for a, b in itertools.pairwise(sizes)):
            raise ConfigValueError("sizes", "strictly increasing (a codebook only grows)", sizes)
        if any(step < 0 for step in steps) or steps != sorted(steps):
            raise ConfigValueError("steps", "non-negative and non-decreasing", steps)
        check_non_negative("jitter", jitter)
        self.steps = steps
        self.sizes = sizes
        self.jitter = float(jitter)
        self.seed = int(seed)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        quantizers = self.quantizers(pl_module)
        if not quantizers:
            raise ConfigCombinationError(
                "callbacks.growth needs a model with a GrowingQuantizer: choose "
                "model/quantizer=growth or drop the callback"
            )
        for quantizer in quantizers:
            if self.sizes[-1] > quantizer.codebook_size or self.sizes[0] <= quantizer.initial_size:
                raise ConfigValueError(
                    "sizes",
                    f"in ({quantizer.initial_size}, {quantizer.codebook_size}] (initial_size, "
                    "codebook_size)",
                    self.sizes,
                )

    @staticmethod
    def quantizers(pl_module: L.LightningModule) -> list[GrowingQuantizer]:
        return [module for module in pl_module.modules() if isinstance(module, GrowingQuantizer)]

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        for step, size in zip(self.steps, self.sizes, strict=True):
            if trainer.global_step < step:
                break
            for number, quantizer in enumerate(self.quantizers(pl_module)):
                if quantizer.live_codes >= size:
                    continue
                generator = torch.Generator().manual_seed(self.seed + 7919 * step + number)
                rows = quantizer.grow(size, self.jitter, generator)
                codebook = quantizer.quantizers[0].codebook
                if isinstance(codebook, nn.Parameter):
                    reset_rows(trainer.optimizers, codebook, rows)
