"""Codebook-dimension curriculum: open more code dimensions at configured training steps.

Seed lever 7: quantize in a small code dimension first (few directions to agree on, codes used
early), then in a larger one. Built on ``DimensionCurriculumQuantizer``: the projection to
``codebook_dim`` exists from the start and a mask opens its coordinates, so no parameter changes
shape and the optimizer keeps its state.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import lightning as L

from vqlab.errors import ConfigCombinationError, ConfigValueError
from vqlab.quantizers import DimensionCurriculumQuantizer


class DimensionCurriculum(L.Callback):
    """At the first training batch with ``global_step >= steps[i]``, set ``active_dims =
    sizes[i]`` on every ``DimensionCurriculumQuantizer`` of the model (``open_dims``).

    ``steps`` strictly increasing, ``sizes`` strictly increasing and at most each quantizer's
    ``codebook_dim`` (checked at setup). Stateless: the open dimensions live in the quantizer's
    checkpointed ``active_dims`` and follow from ``global_step``, so resuming is exact.
    """

    def __init__(self, steps: Sequence[int], sizes: Sequence[int]) -> None:
        steps, sizes = [int(step) for step in steps], [int(size) for size in sizes]
        if len(steps) != len(sizes) or not steps:
            raise ConfigValueError("sizes", f"one size per step ({len(steps)} steps)", sizes)
        if any(step < 0 for step in steps) or any(b <= a for a, b in itertools.pairwise(steps)):
            raise ConfigValueError("steps", "non-negative and strictly increasing", steps)
        if sizes[0] < 1 or any(b <= a for a, b in itertools.pairwise(sizes)):
            raise ConfigValueError("sizes", "positive and strictly increasing", sizes)
        self.steps = steps
        self.sizes = sizes

    @staticmethod
    def quantizers(pl_module: L.LightningModule) -> list[DimensionCurriculumQuantizer]:
        return [m for m in pl_module.modules() if isinstance(m, DimensionCurriculumQuantizer)]

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        quantizers = self.quantizers(pl_module)
        if not quantizers:
            raise ConfigCombinationError(
                "callbacks.dimension_curriculum needs a model with a DimensionCurriculumQuantizer:"
                " choose model/quantizer=curriculum or drop the callback"
            )
        for quantizer in quantizers:
            if self.sizes[-1] > quantizer.codebook_dim or self.sizes[0] <= quantizer.initial_dims:
                raise ConfigValueError(
                    "sizes",
                    f"in ({quantizer.initial_dims}, {quantizer.codebook_dim}] (initial_dims, "
                    "codebook_dim)",
                    self.sizes,
                )

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        step = trainer.global_step
        reached = [
            size for start, size in zip(self.steps, self.sizes, strict=True) if start <= step
        ]
        if not reached:
            return
        for quantizer in self.quantizers(pl_module):
            quantizer.open_dims(reached[-1])  # idempotent, no host read of the buffer
