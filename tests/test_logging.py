"""The W&B offline run and the CSV log of one training run hold the same metric series."""

from __future__ import annotations

import csv
from pathlib import Path

from conftest import run_cli
from wandb_records import metric_history

CODEBOOK_KEYS = {
    "codebook/perplexity",
    "codebook/usage",
    "codebook/dead_fraction",
    "codebook/entropy",
}
LOSS_KEYS = {
    "train/loss",
    "train/recon_mse",
    "train/vq_loss",
    "val/loss",
    "val/recon_mse",
    "val/vq_loss",
    "val/perplexity",
    "val/usage",
}


def test_wandb_offline_run_and_csv_log_hold_the_same_series(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(
        [
            "logger=[wandb,csv]",
            "trainer.max_epochs=2",
            "model.usage_window=10",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]

    (wandb_file,) = run_dir.glob("wandb/offline-run-*/run-*.wandb")
    history = metric_history(wandb_file)
    # 2 epochs x 23 batches of the 1437 training digits, one point every 10 steps
    assert len(history["codebook/perplexity"]) == 4
    assert all(1.0 <= value <= 128.0 for value in history["codebook/perplexity"])
    assert history.keys() >= CODEBOOK_KEYS | LOSS_KEYS

    (metrics_file,) = run_dir.glob("csv/version_*/metrics.csv")
    with metrics_file.open() as handle:
        rows = list(csv.DictReader(handle))
    csv_keys = {key for row in rows for key, value in row.items() if value}
    assert csv_keys >= CODEBOOK_KEYS | LOSS_KEYS
    perplexities = [float(row["codebook/perplexity"]) for row in rows if row["codebook/perplexity"]]
    assert perplexities == history["codebook/perplexity"]

    assert (run_dir / ".hydra" / "config.yaml").is_file()
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert len(list((run_dir / "checkpoints").glob("best_*.ckpt"))) == 1
    assert len(list((run_dir / "reconstructions").glob("epoch_*.png"))) == 2
