"""Callbacks that tests add to a ``python -m vqlab.train`` subprocess (tests/ on PYTHONPATH):
signal the run at a chosen step, dump every rank's final state."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch

from vqlab.models.random_state import collect_rng_state


class SignalAt(L.Callback):
    """Send ``signum`` at the start of the batch after optimizer step ``step``, on rank 0 only:
    to the whole process group (``group=true``: what SLURM and ``kill -TERM -<pgid>`` do) or to
    this process alone. ``stamp``: a file that receives the time it was sent."""

    def __init__(
        self,
        step: int,
        signum: int = int(signal.SIGTERM),
        group: bool = True,
        stamp: str | None = None,
    ) -> None:
        self.step, self.signum, self.group, self.stamp = step, signum, group, stamp
        self.sent = False

    def on_train_batch_start(self, trainer: L.Trainer, *args: Any) -> None:
        if trainer.global_rank == 0 and trainer.global_step == self.step and not self.sent:
            self.sent = True
            if self.stamp is not None:
                Path(self.stamp).write_text(f"{time.time()}\n")
            if self.group:
                os.killpg(os.getpgid(0), self.signum)
            else:
                os.kill(os.getpid(), self.signum)


class DumpState(L.Callback):
    """At the end of training, every rank writes ``<dirpath>/rank<r>.pt``: parameters and
    buffers, optimizer state, generator states and each callback's ``state_dict``. A rank that
    stops on an exception prints ``rank <r> stopped: <exit status>``."""

    def __init__(self, dirpath: str) -> None:
        self.dirpath = Path(dirpath)

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        code = getattr(exception, "code", None)
        print(f"rank {trainer.global_rank} stopped: {code}", file=sys.stderr, flush=True)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.dirpath.mkdir(parents=True, exist_ok=True)
        state = {
            "global_step": trainer.global_step,
            "state_dict": pl_module.state_dict(),
            "optimizer": [optimizer.state_dict() for optimizer in trainer.optimizers],
            "rng": collect_rng_state(),
            "callbacks": {
                type(callback).__name__: callback.state_dict()
                for callback in trainer.callbacks
                if type(callback).__module__.startswith("vqlab.callbacks")
            },
        }
        torch.save(state, self.dirpath / f"rank{trainer.global_rank}.pt")


class PoisonAt(L.Callback):
    """Make training non-finite at optimizer step ``step``: ``where="loss"`` sets the first
    parameter to NaN before the batch of that step (its loss is NaN), ``where="parameter"`` sets
    the codebook's first row to NaN after that step (its loss was finite)."""

    def __init__(self, step: int, where: str = "loss") -> None:
        self.step, self.where = step, where

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any
    ) -> None:
        if self.where == "loss" and trainer.global_step == self.step - 1:
            with torch.no_grad():
                next(pl_module.parameters()).fill_(float("nan"))

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any
    ) -> None:
        if self.where == "parameter" and trainer.global_step == self.step:
            with torch.no_grad():
                pl_module.quantizer.codebook[0] = float("nan")
