"""Save the latest state every N training steps and when training is interrupted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities.exceptions import SIGTERMException

from vqlab.errors import check_positive

INTERRUPTIONS = (KeyboardInterrupt, SIGTERMException)


class StepCheckpoint(L.Callback):
    """Write ``<dirpath>/<filename>.ckpt`` at every ``every_n_steps``-th optimizer step, and on
    Ctrl-C (``KeyboardInterrupt``) or SIGTERM (Lightning's ``SIGTERMException``, raised on every
    rank), so that a preempted run loses at most ``every_n_steps`` steps.

    The default file is ``last.ckpt``, the one ``ModelCheckpoint(save_last=True)`` writes at the
    end of each epoch: resuming with ``ckpt_path=<run>/checkpoints/last.ckpt`` continues from the
    latest of the two, mid-epoch included (Lightning restores the loops' progress). Like
    ``ModelCheckpoint``, it saves nothing under ``fast_dev_run``; an interruption before the first
    step saves nothing either.
    """

    def __init__(self, dirpath: str, every_n_steps: int = 1000, filename: str = "last") -> None:
        check_positive("every_n_steps", every_n_steps)
        self.dirpath = Path(dirpath)
        self.every_n_steps = every_n_steps
        self.filename = filename
        self.saved_step = -1

    @property
    def path(self) -> Path:
        """Where the checkpoint goes."""
        return self.dirpath / f"{self.filename}.ckpt"

    def save(self, trainer: L.Trainer) -> None:
        """Save the trainer's state (every rank takes part, rank 0 writes)."""
        if trainer.fast_dev_run or trainer.global_step in (0, self.saved_step):
            return
        trainer.save_checkpoint(self.path)
        self.saved_step = trainer.global_step

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, index: int
    ) -> None:
        if trainer.global_step % self.every_n_steps == 0:
            self.save(trainer)

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if isinstance(exception, INTERRUPTIONS) and trainer.state.fn == "fit":
            self.save(trainer)
