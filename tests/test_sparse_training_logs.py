"""Sparse training logs (``LoggedModule.sparse_training_logs``): the logger receives exactly the
rows and values it receives when every step logs, with far fewer Lightning log calls."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import compose_train_config

from vqlab.models import VQVAE
from vqlab.models.logged_module import LoggedModule
from vqlab.train import train

OVERRIDES = [
    "logger=csv",
    "trainer.accelerator=cpu",
    "trainer.max_steps=23",
    "trainer.max_epochs=-1",
    "trainer.log_every_n_steps=5",
    "trainer.limit_val_batches=0",
    "trainer.enable_progress_bar=false",
    "test=false",
]


def written_rows(sparse: bool, run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    """``metrics.csv`` of a 23-step digits VQ-VAE run, and the number of ``log_dict`` calls."""
    monkeypatch.setattr(VQVAE, "sparse_training_logs", sparse)
    calls = []
    log_dict = LoggedModule.log_dict
    monkeypatch.setattr(
        LoggedModule, "log_dict", lambda self, *a, **k: calls.append(1) or log_dict(self, *a, **k)
    )
    train(compose_train_config(OVERRIDES, run_dir))
    (csv,) = run_dir.glob("run/csv/*/metrics.csv")
    return csv.read_text(), len(calls)


def test_sparse_logs_write_the_same_rows_with_fewer_log_calls(tmp_path, monkeypatch) -> None:
    sparse, sparse_calls = written_rows(True, tmp_path / "sparse", monkeypatch)
    dense, dense_calls = written_rows(False, tmp_path / "dense", monkeypatch)
    assert sparse == dense
    assert "train/recon_mse" in sparse.splitlines()[0] and "codebook/usage" in sparse
    assert len(sparse.splitlines()) > 4  # steps 4, 9, 14, 19 and the usage window at 19
    # dense: a call per step (23); sparse: step 0 and the 4 written steps, plus usage windows
    assert sparse_calls < dense_calls / 2


def test_the_default_vqvae_logs_sparsely() -> None:
    assert VQVAE.sparse_training_logs
