"""Stop training when the loss or the parameters stop being finite, before a checkpoint can store
the damage."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from vqlab.distributed import all_reduce_sum
from vqlab.errors import NonFiniteLossError, check_positive


class FiniteLossGuard(L.Callback):
    """Raise ``NonFiniteLossError`` once a training loss is NaN or infinite, and refuse to save a
    checkpoint whose parameters or buffers are.

    Every step ORs ``~isfinite(loss)`` into a device flag (no host sync), before the backward pass
    (``on_before_backward``, so before any callback's ``on_train_batch_end`` can save) and from
    the step's output. The flag is read every ``check_every_n_steps`` steps, always before
    validation and at the end of a training epoch, and whenever a checkpoint is built
    (``on_save_checkpoint`` runs before the file is written): a checkpoint also needs every
    floating tensor of its ``state_dict`` finite (a non-finite value can enter a parameter or an
    EMA buffer after a finite loss). So no checkpoint of a non-finite run reaches disk, whatever
    ``check_every_n_steps``, the checkpoint schedule and the callbacks' order: the last checkpoint
    on disk stays the last good one. Under DDP the flag is summed over ranks when read (a
    collective, on every rank at the same steps), so every rank stops at the same step.
    """

    def __init__(self, check_every_n_steps: int = 1) -> None:
        check_positive("check_every_n_steps", check_every_n_steps)
        self.check_every_n_steps = check_every_n_steps
        self.nonfinite: torch.Tensor | None = None

    def _record(self, loss: torch.Tensor) -> None:
        flag = ~torch.isfinite(loss.detach()).all()
        self.nonfinite = flag if self.nonfinite is None else self.nonfinite | flag

    def on_before_backward(
        self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor
    ) -> None:
        self._record(loss)

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if isinstance(loss, torch.Tensor):
            self._record(loss)
        if trainer.global_step % self.check_every_n_steps == 0:
            self._check(trainer)

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        self._check(trainer)
        bad = [
            name
            for name, tensor in checkpoint.get("state_dict", {}).items()
            if isinstance(tensor, torch.Tensor)  # not a module's extra state
            and tensor.is_floating_point()
            and not bool(torch.isfinite(tensor).all())
        ]
        if bad:
            raise NonFiniteLossError(
                f"{bad[0]} became NaN or infinite by step {trainer.global_step} (the loss was "
                "finite): lower model.optimizer.lr or check the data; the last good checkpoint "
                "is kept"
            )

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._check(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._check(trainer)

    def _check(self, trainer: L.Trainer) -> None:
        if self.nonfinite is None:
            return
        if not bool(all_reduce_sum(self.nonfinite.to(torch.int32))):
            return
        raise NonFiniteLossError(
            f"training loss became NaN or infinite by step {trainer.global_step}: lower "
            "model.optimizer.lr or check the data for NaN; the last good checkpoint is kept"
        )
