"""Step checkpoints: last.ckpt every N steps, and on Ctrl-C or SIGTERM (preemption loses < N)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import lightning as L
import pytest
import torch
from conftest import compose_train_config

from vqlab.callbacks.graceful_stop import TrainingStopped
from vqlab.train import build, fit_and_test

STEPS = [
    "model=vqvae_mlp",
    "data=lowrank",
    "data.num_samples=1000",
    "data.batch_size=100",
    "logger=none",
    "test=false",
    "callbacks=none",
    "+callbacks.step._target_=vqlab.callbacks.step_checkpoint.StepCheckpoint",
    "+callbacks.step.dirpath=${paths.output_dir}/checkpoints",
    "+callbacks.step.every_n_steps=2",
    "trainer.max_epochs=-1",
    "trainer.limit_val_batches=0",
    "trainer.enable_progress_bar=false",
]


class Interrupt(L.Callback):
    """A real Ctrl-C (SIGINT) or SIGTERM to this process during the batch of step ``step``."""

    def __init__(self, step: int, how: str) -> None:
        self.step, self.how = step, how

    def on_train_batch_start(self, trainer: L.Trainer, *args: object) -> None:
        if trainer.global_step == self.step - 1:
            os.kill(os.getpid(), signal.SIGINT if self.how == "ctrl-c" else signal.SIGTERM)


def saved_step(tmp_path: Path) -> int:
    checkpoint = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)
    return checkpoint["global_step"]


def test_last_checkpoint_is_written_every_n_steps(tmp_path: Path) -> None:
    cfg = compose_train_config([*STEPS, "trainer.max_steps=5"], tmp_path)
    fit_and_test(cfg, build(cfg))
    assert saved_step(tmp_path) == 4  # steps 2 and 4; step 5 is not a multiple of 2


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_an_interrupted_run_saves_its_last_step(tmp_path: Path, how: str) -> None:
    # every 10 steps: a checkpoint before step 10 can only come from the interruption
    cfg = compose_train_config(
        [*STEPS, "trainer.max_steps=50", "callbacks.step.every_n_steps=10"], tmp_path
    )
    run = build(cfg)
    run.trainer.callbacks.insert(0, Interrupt(step=3, how=how))
    with pytest.raises(TrainingStopped) as stopped:  # at the end of the signalled step
        fit_and_test(cfg, run)
    assert stopped.value.code == 130 if how == "ctrl-c" else 143
    assert saved_step(tmp_path) == 3
