"""Save the latest state every N training steps and when training is stopped by a signal."""

from __future__ import annotations

from pathlib import Path

import lightning as L

from vqlab.callbacks.graceful_stop import GracefulStop
from vqlab.errors import check_positive


class StepCheckpoint(GracefulStop):
    """Write ``<dirpath>/<filename>.ckpt`` every ``every_n_steps``-th optimizer step, and when
    SIGTERM or Ctrl-C stops training (``GracefulStop``), so that a preempted run loses at most
    ``every_n_steps`` steps.

    Saves happen at step boundaries only (``GracefulStop``): after a batch that stepped the
    optimizer, or after the validation that follows it, so a resumed run replays neither a
    half-accumulated gradient nor a skipped validation. The default file is ``last.ckpt``, the
    one ``ModelCheckpoint(save_last=True)`` writes at the end of each epoch: resuming with
    ``ckpt_path=<run>/checkpoints/last.ckpt`` continues from the latest of the two, mid-epoch
    included. Like ``ModelCheckpoint``, it saves nothing under ``fast_dev_run``, nor before the
    first step.
    """

    def __init__(self, dirpath: str, every_n_steps: int = 1000, filename: str = "last") -> None:
        super().__init__()
        check_positive("every_n_steps", every_n_steps)
        self.dirpath = Path(dirpath)
        self.every_n_steps = every_n_steps
        self.filename = filename
        self.saved_step = -1

    @property
    def path(self) -> Path:
        """Where the checkpoint goes."""
        return self.dirpath / f"{self.filename}.ckpt"

    def save(self, trainer: L.Trainer) -> Path | None:
        """Save the trainer's state (every rank takes part, rank 0 writes); the file or None."""
        if trainer.fast_dev_run or trainer.global_step == 0:
            return None
        if trainer.global_step != self.saved_step:
            trainer.save_checkpoint(self.path)
            self.saved_step = trainer.global_step
        return self.path

    def save_point(self, trainer: L.Trainer, stopping: bool) -> Path | None:
        if stopping or trainer.global_step % self.every_n_steps == 0:
            return self.save(trainer)
        return None
