"""Stop training on SIGTERM (preemption) or Ctrl-C at an optimizer-step boundary, every rank at the
same step, and exit with status 128 + the signal number."""

from __future__ import annotations

import logging
import os
import shlex
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L
import torch
import torch.distributed as dist
from hydra.core.hydra_config import HydraConfig

log = logging.getLogger("vqlab")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# overrides that the printed resume command sets itself
RESUME_KEYS = ("ckpt_path", "resume", "logger.wandb.id", "hydra.")
HYDRA_SPECIAL = set("=,[]{}()'\" \\:$")


class TrainingStopped(SystemExit):
    """Training stopped on a signal at a step boundary; the exit status is 128 + the signal."""

    def __init__(self, signum: int, step: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum
        self.step = step


def validation_follows(trainer: L.Trainer) -> bool:
    """Whether the training loop validates right after the batch that just ended.

    Lightning decides this in a private method of its epoch loop; a checkpoint written before
    that validation would resume past it (Lightning fast-forwards an interrupted validation's
    progress), so the caller waits for the validation's end instead. Lightning 2.2 - 2.6.
    """
    loop = trainer.fit_loop.epoch_loop
    return bool(loop._should_check_val_fx(trainer.fit_loop._data_fetcher))


def hydra_override(key: str, value: str) -> str:
    """``key=value`` for a shell command line, quoted for Hydra and for the shell when needed."""
    text = f"{key}='{value}'" if HYDRA_SPECIAL & set(value) else f"{key}={value}"
    return shlex.quote(text)


def resume_command(path: Path) -> str:
    """``python -m vqlab.train <this run's overrides> resume=true ckpt_path=<path>``."""
    overrides: list[str] = []
    if HydraConfig.initialized():
        overrides = [
            shlex.quote(override)
            for override in HydraConfig.get().overrides.task
            if not override.lstrip("+~").startswith(RESUME_KEYS)
        ]
    return " ".join(
        ["python -m vqlab.train", *overrides, "resume=true", hydra_override("ckpt_path", str(path))]
    )


class GracefulStop(L.Callback):
    """SIGTERM and Ctrl-C only set a flag; training stops at the next step boundary.

    The signal handler does nothing but record the signal (Lightning's own SIGTERM handler runs
    a collective inside the handler, which deadlocks DDP ranks; this callback replaces it once
    Lightning has installed it, and Lightning restores the previous handlers after ``fit``). At
    each step boundary — the end of a batch that made an optimizer step (never inside a gradient
    accumulation window), or, when validation follows that batch, the end of that validation —
    the flag is combined over ranks (an all-reduce of one integer under DDP, nothing on one
    process), so every rank sees the same decision at the same step: ``save_point`` runs on every
    rank (a subclass saves there), rank 0 prints the checkpoint and the resume command, and every
    rank raises ``TrainingStopped`` (exit status 143 for SIGTERM, 130 for Ctrl-C).

    A second Ctrl-C stops at once without saving (``KeyboardInterrupt``). A signal after the last
    step boundary still ends the run with its status, after training (the test stage is skipped).
    ``vqlab.train`` adds this callback when no callback of this kind is configured, and puts it
    after every other callback, so that the callbacks acting on a step (respawn, the NaN guard)
    have acted when it saves; a Trainer built by hand should list it last too.
    """

    def __init__(self) -> None:
        self.received = 0  # the first stop signal's number; 0 while none arrived
        self.step_at_batch_start = -1
        self.after_validation = False  # this step's boundary is the end of its validation
        self.announce = False  # whether this process prints that a signal arrived (rank 0)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT and self.received == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now, without saving
        self.received = self.received or signum
        if self.announce:  # a plain write: a signal handler must not log
            name = signal.Signals(signum).name
            os.write(2, f"\nvqlab: {name} received, stopping after this step\n".encode())

    def _install(self, trainer: L.Trainer) -> None:
        self.announce = trainer.is_global_zero
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                signal.signal(signum, self._handle)

    def on_sanity_check_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._install(trainer)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._install(trainer)

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self.step_at_batch_start = trainer.global_step

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, index: int
    ) -> None:
        if trainer.global_step == self.step_at_batch_start:
            return  # inside a gradient accumulation window: the gradient is not in any state
        if validation_follows(trainer):
            self.after_validation = True
        else:
            self.step_boundary(trainer)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.after_validation and not trainer.sanity_checking:
            self.after_validation = False
            self.step_boundary(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        signum = self.agreed_signal(trainer)  # one that came after the last step boundary
        if signum:
            self.stop(trainer, signum, self.save_point(trainer, stopping=True))

    def agreed_signal(self, trainer: L.Trainer) -> int:
        """The largest signal number any rank received (0: none); the same on every rank."""
        if not (dist.is_available() and dist.is_initialized()) or trainer.world_size == 1:
            return self.received
        flag = torch.tensor(self.received, device=trainer.strategy.root_device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag)

    def step_boundary(self, trainer: L.Trainer) -> None:
        """Save if due (``save_point``); stop every rank if any rank received a stop signal."""
        signum = self.agreed_signal(trainer)
        path = self.save_point(trainer, stopping=bool(signum))
        if signum:
            self.stop(trainer, signum, path)

    def save_point(self, trainer: L.Trainer, stopping: bool) -> Path | None:
        """Called on every rank at every step boundary; returns the checkpoint written when
        ``stopping`` (subclasses save; this one saves nothing)."""
        return None

    def stop(self, trainer: L.Trainer, signum: int, path: Path | None) -> None:
        """Report on rank 0, then raise ``TrainingStopped`` on every rank."""
        if trainer.is_global_zero:
            name = signal.Signals(signum).name
            step = trainer.global_step
            if path is None:
                log.warning("vqlab: stopped by %s after step %d (no step checkpoint)", name, step)
            else:
                log.warning(
                    "vqlab: stopped by %s after step %d; its state is in %s\nresume with: %s",
                    name,
                    step,
                    path,
                    resume_command(path),
                )
        raise TrainingStopped(signum, trainer.global_step)
