"""Exact resume from a mid-epoch checkpoint: every model, both data paths, bit-identical on CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import compose_train_config

from vqlab.train import train

QUIET = [
    "logger=none",
    "test=false",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
]
# 2 epochs of 5 batches, a checkpoint every 3 steps: steps 3 (mid-epoch 0) and 6 (mid-epoch 1)
SHORT = [
    "trainer.max_epochs=2",
    "trainer.limit_train_batches=5",
    "trainer.limit_val_batches=1",
    "+callbacks.mid_epoch_checkpoint._target_=lightning.pytorch.callbacks.ModelCheckpoint",
    "+callbacks.mid_epoch_checkpoint.dirpath='${paths.output_dir}/steps'",
    "+callbacks.mid_epoch_checkpoint.every_n_train_steps=3",
    "+callbacks.mid_epoch_checkpoint.save_top_k=-1",
    "+callbacks.mid_epoch_checkpoint.auto_insert_metric_name=true",
    "+callbacks.mid_epoch_checkpoint.filename='{step}'",
]
TINY_CONV = [
    "data.batch_size=16",
    "model.encoder.hidden_channels=[8]",
    "model.encoder.num_residual_blocks=1",
    "model.encoder.residual_channels=4",
    "model.encoder.latent_dim=4",
    "model.quantizer.codebook_size=16",
    # the default callbacks' codebook levers act around the cut: k-means init, respawn every 2 steps
    "callbacks.kmeans_init.num_batches=2",
    "callbacks.respawn.every_n_steps=2",
    "callbacks.respawn.threshold=0.5",
    "callbacks.respawn.noise=0.1",
]
MODELS = {
    "vqvae_ema": ["model=vqvae_ema", *TINY_CONV],
    "vqvae_ste": ["model=vqvae_ste", *TINY_CONV],
    # callbacks=default: the codebook levers around the cut (model=hcvq alone brings homology)
    "hcvq": [
        "model=hcvq",
        "callbacks=default",
        *TINY_CONV,
        "model.hcvq.asynchronous=false",
        "model.hcvq.period=2",
    ],
    "cae": ["model=cae", "callbacks=cae", "data.batch_size=16", "model.selector.logit_dropout=0.2"],
}


def train_in(run_dir: Path, overrides: list[str]) -> Path:
    """Train with ``overrides`` into ``run_dir``; return the run's output directory."""
    train(compose_train_config([*QUIET, *SHORT, *overrides], run_dir))
    return run_dir / "run"


def assert_identical(expected: Any, got: Any, where: str) -> None:
    """Tensors bit-identical, containers recursively, anything else ``==``."""
    if isinstance(expected, torch.Tensor):
        torch.testing.assert_close(got, expected, rtol=0, atol=0, equal_nan=True, msg=where)
    elif isinstance(expected, dict):
        assert expected.keys() == got.keys(), where
        for key, value in expected.items():
            assert_identical(value, got[key], f"{where}.{key}")
    elif isinstance(expected, list | tuple):
        assert len(expected) == len(got), where
        for index, (value, other) in enumerate(zip(expected, got, strict=True)):
            assert_identical(value, other, f"{where}[{index}]")
    else:
        assert expected == got, where


def assert_same_training_state(expected_path: Path, got_path: Path) -> None:
    """Parameters, buffers, optimizer state, step and the callbacks' states are bit-identical."""
    expected = torch.load(expected_path, weights_only=False)
    got = torch.load(got_path, weights_only=False)
    assert got["global_step"] == expected["global_step"]
    for key in ("state_dict", "optimizer_states", "rng_states"):
        assert_identical(expected[key], got[key], key)
    for name, state in expected["callbacks"].items():
        if not name.startswith("ModelCheckpoint"):  # holds its own directory
            assert_identical(state, got["callbacks"][name], name)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_model_resumes_bit_identically_from_a_mid_epoch_checkpoint(
    tmp_path: Path, model: str
) -> None:
    straight = train_in(tmp_path / "straight", MODELS[model])
    cut = straight / "steps" / "step=6.ckpt"  # batch 1 of 5 in epoch 1
    resumed = train_in(tmp_path / "resumed", [*MODELS[model], f"ckpt_path='{cut}'"])
    assert_same_training_state(
        straight / "checkpoints" / "last.ckpt", resumed / "checkpoints" / "last.ckpt"
    )
