"""A NaN at step k (in the loss, or in a parameter after a finite step) leaves the step k - 1
checkpoint on disk, intact and loadable, whatever the callbacks' order in the config."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import compose_train_config
from omegaconf import OmegaConf

from vqlab.errors import NonFiniteLossError
from vqlab.runs.loading import load_run
from vqlab.train import train

NAN_STEP = 4


@pytest.mark.parametrize("where", ["loss", "parameter"])
def test_a_nan_at_step_k_leaves_the_step_k_minus_1_checkpoint(tmp_path: Path, where: str):
    overrides = [
        "model=vqvae_mlp",
        "model.quantizer.codebook_size=16",
        "data=lowrank",
        "data.num_samples=1000",
        "data.batch_size=50",
        "logger=none",
        "test=false",
        "callbacks=plain",  # step_checkpoint comes before finite_loss in its list
        "callbacks.step_checkpoint.every_n_steps=1",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
        "trainer.max_steps=10",
        "trainer.limit_val_batches=0",
        "+callbacks.poison._target_=train_probes.PoisonAt",
        f"+callbacks.poison.step={NAN_STEP}",
        f"+callbacks.poison.where={where}",
    ]
    cfg = compose_train_config(overrides, tmp_path)
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    OmegaConf.save(cfg, run / ".hydra" / "config.yaml")
    with pytest.raises(NonFiniteLossError, match=f"step {NAN_STEP}"):
        train(cfg)
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == NAN_STEP - 1
    assert all(tensor.isfinite().all() for tensor in checkpoint["state_dict"].values())
    model = load_run(run, "last")
    assert all(parameter.isfinite().all() for parameter in model.parameters())
