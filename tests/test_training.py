"""Training behaviour: exact resume, and a VQ-VAE that learns on the embedded digits."""

from __future__ import annotations

import csv
from pathlib import Path

import torch
from conftest import compose_train_config

from vqlab.train import train

QUIET = ["logger=none", "test=false"]


def train_in(run_dir: Path, *overrides: str) -> Path:
    """Train with ``overrides`` into ``run_dir``; return its ``last.ckpt``."""
    cfg = compose_train_config([*QUIET, *overrides], run_dir)
    train(cfg)
    return run_dir / "run" / "checkpoints" / "last.ckpt"


def test_resume_from_last_checkpoint_is_exact(tmp_path: Path) -> None:
    straight = train_in(tmp_path / "straight", "trainer.max_epochs=2")
    first_half = train_in(tmp_path / "first", "trainer.max_epochs=1")
    resumed = train_in(tmp_path / "second", "trainer.max_epochs=2", f"ckpt_path={first_half}")

    expected = torch.load(straight, weights_only=False)
    got = torch.load(resumed, weights_only=False)
    assert got["global_step"] == expected["global_step"] == 46
    assert expected["state_dict"].keys() == got["state_dict"].keys()
    for name, tensor in expected["state_dict"].items():
        assert torch.equal(tensor, got["state_dict"][name]), name
    assert "quantizer.cluster_size" in expected["state_dict"]  # EMA buffers are compared too
    assert "usage.train_window.histogram" in expected["state_dict"]  # so is the usage window
    for expected_state, got_state in zip(
        expected["optimizer_states"][0]["state"].values(),
        got["optimizer_states"][0]["state"].values(),
        strict=True,
    ):
        assert torch.equal(expected_state["exp_avg"], got_state["exp_avg"])


def test_vqvae_ema_on_digits_lowers_recon_error_and_uses_the_codebook(tmp_path: Path) -> None:
    cfg = compose_train_config(
        ["logger=csv", "test=false", "trainer.max_epochs=10", "callbacks=none"], tmp_path
    )
    train(cfg)
    (metrics_file,) = (tmp_path / "run").glob("csv/version_*/metrics.csv")
    with metrics_file.open() as handle:
        rows = [row for row in csv.DictReader(handle) if row["val/recon_mse"]]
    recon = [float(row["val/recon_mse"]) for row in rows]
    perplexity = [float(row["val/perplexity"]) for row in rows]
    assert len(recon) == 10
    assert recon[-1] < 0.4 * recon[0]
    assert perplexity[-1] > 0.1 * cfg.model.quantizer.codebook_size


def test_resume_between_respawn_events_reproduces_the_uninterrupted_codebook(
    tmp_path: Path,
) -> None:
    """Window histogram, ring buffer and generator come back from the checkpoint: with events at
    steps 3, 6 and the cut at step 4, the resumed run's codebook and Adam state are the same."""
    settings = [
        "model=vqvae_ste",
        "callbacks.respawn.every_n_steps=3",
        "callbacks.respawn.source=buffer",
        "callbacks.respawn.buffer_size=256",
        "callbacks.respawn.noise=0.1",
        "trainer.limit_train_batches=4",
        "trainer.limit_val_batches=1",
    ]
    straight = train_in(tmp_path / "straight", *settings, "trainer.max_epochs=2")
    first_half = train_in(tmp_path / "first", *settings, "trainer.max_epochs=1")
    resumed = train_in(
        tmp_path / "second", *settings, "trainer.max_epochs=2", f"ckpt_path={first_half}"
    )
    expected = torch.load(straight, weights_only=False)
    got = torch.load(resumed, weights_only=False)
    assert got["global_step"] == 8
    assert torch.equal(
        expected["state_dict"]["quantizer.codebook"], got["state_dict"]["quantizer.codebook"]
    )
    (respawn_state,) = [v for k, v in got["callbacks"].items() if "DeadCodeRespawn" in k]
    assert respawn_state["last_event_step"] == 6
    for expected_state, got_state in zip(
        expected["optimizer_states"][0]["state"].values(),
        got["optimizer_states"][0]["state"].values(),
        strict=True,
    ):
        assert torch.equal(expected_state["exp_avg_sq"], got_state["exp_avg_sq"])
