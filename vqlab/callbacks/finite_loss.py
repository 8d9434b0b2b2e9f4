"""Stop training when the loss stops being finite, before a checkpoint can store the damage."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from vqlab.errors import NonFiniteLossError, check_positive


class FiniteLossGuard(L.Callback):
    """Raise ``NonFiniteLossError`` once a training loss is NaN or infinite.

    Every step ORs ``~isfinite(loss)`` into a device flag (no host sync); the flag is read every
    ``check_every_n_steps`` steps, always before validation and at the end of a training epoch,
    and whenever a checkpoint is built (``on_save_checkpoint`` runs before the file is written),
    so no checkpoint of a non-finite run reaches disk whatever ``check_every_n_steps`` and the
    checkpoint schedule are: the last checkpoint on disk stays the last good one.
    """

    def __init__(self, check_every_n_steps: int = 1) -> None:
        check_positive("check_every_n_steps", check_every_n_steps)
        self.check_every_n_steps = check_every_n_steps
        self.nonfinite: torch.Tensor | None = None

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        flag = ~torch.isfinite(loss.detach())
        self.nonfinite = flag if self.nonfinite is None else self.nonfinite | flag
        if trainer.global_step % self.check_every_n_steps == 0:
            self._check(trainer)

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        self._check(trainer)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._check(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._check(trainer)

    def _check(self, trainer: L.Trainer) -> None:
        if self.nonfinite is not None and bool(self.nonfinite):
            raise NonFiniteLossError(
                f"training loss became NaN or infinite by step {trainer.global_step}: lower "
                "model.optimizer.lr or check the data for NaN; the last good checkpoint is kept"
            )
