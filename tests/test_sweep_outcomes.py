"""Smoke runs and sweeps: a run without optimized_metric still succeeds, a diverged sweep job is
marked failed and the sweep goes on, and the report reads any sweeper's folder and fits 80
columns."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from conftest import run_cli
from omegaconf import OmegaConf
from rich.console import Console

from vqlab.cli.one_line import one_line_errors
from vqlab.cli.sweep_metric import failed_job, optimized_value
from vqlab.errors import NonFiniteLossError
from vqlab.report.table import write_report


def test_a_single_run_without_the_metric_succeeds_with_a_note_naming_val_check_interval(
    caplog,
) -> None:
    with caplog.at_level("INFO", logger="vqlab"):
        assert optimized_value({"train/loss": torch.tensor(1.0)}, "val/recon_mse") is None
    assert "trainer.val_check_interval" in caplog.text and "only a sweeper" in caplog.text


def test_a_sweep_job_without_the_metric_is_one_line_naming_val_check_interval(capsys) -> None:
    with pytest.raises(SystemExit), one_line_errors():
        optimized_value({"train/loss": torch.tensor(1.0)}, "val/recon_mse", sweeping=True)
    (line,) = capsys.readouterr().err.splitlines()
    assert "optimized_metric=val/recon_mse was never logged" in line
    assert "trainer.val_check_interval" in line and "train/loss" in line


def test_a_diverged_job_is_marked_failed_and_returns_nan(tmp_path: Path) -> None:
    value = failed_job(NonFiniteLossError("training loss became NaN by step 3"), tmp_path)
    assert math.isnan(value)
    assert (tmp_path / "FAILED").read_text() == "diverged: training loss became NaN by step 3\n"


def fake_job(sweep: Path, number: int, lr: str, metrics: dict[str, float], failed: bool) -> None:
    """A job folder as an Optuna sweep leaves it (no multirun.yaml beside it), with a CSV log."""
    job = sweep / str(number)
    (job / ".hydra").mkdir(parents=True)
    overrides = ["model=vqvae_ema", f"model.optimizer.lr={lr}", "model.quantizer.codebook_size=64"]
    OmegaConf.save(OmegaConf.create(overrides), job / ".hydra" / "overrides.yaml")
    hydra = {
        "hydra": {
            "runtime": {"choices": {"model": "vqvae_ema"}},
            "sweeper": {"direction": ["minimize"]},
        }
    }
    OmegaConf.save(OmegaConf.create(hydra), job / ".hydra" / "hydra.yaml")
    OmegaConf.save(
        OmegaConf.create({"optimized_metric": "val/recon_mse"}), job / ".hydra" / "config.yaml"
    )
    log = job / "csv" / "version_0" / "metrics.csv"
    log.parent.mkdir(parents=True)
    log.write_text(",".join(metrics) + "\n" + ",".join(map(str, metrics.values())) + "\n")
    if failed:
        failed_job(NonFiniteLossError("training loss became NaN or infinite by step 2"), job)


def test_the_report_reads_an_optuna_sweep_and_fits_80_columns(tmp_path: Path) -> None:
    sweep = tmp_path / "multiruns" / "2026-01-01_00-00-00"
    for number, lr in enumerate(["0.000123456", "0.00987654", "1000000.0"]):
        metrics = {
            "val/recon_mse": 0.0123456 * (number + 1),
            "test/recon_mse": 0.0134567,
            "test/usage": 0.171875,
            "test/perplexity": 17.4567,
            "val/usage": 0.453125,
            "val/perplexity": 23.4567,
            "codebook/usage": 1.0,  # the training window's: not a collapse number
        }
        fake_job(sweep, number, lr, metrics if number < 2 else {"train/loss": 3.0}, number == 2)
    (sweep / "optimization_results.yaml").write_text("best_value: 0.0123456\n")
    console = Console(width=80, record=True, color_system=None)
    report = write_report(sweep, console)

    text = report.read_text()
    assert "| job | status | model | model.optimizer.lr | val/recon_mse |" in text
    assert "test/usage | test/perplexity | val/usage | val/perplexity |" in text
    assert "codebook/usage" not in text
    assert "- job 2: failed: diverged: training loss became NaN" in text

    shown = console.export_text()
    lines = shown.splitlines()
    assert max(map(len, lines)) <= 80 and "…" not in shown
    assert sum(line.split()[:1] == ["job"] for line in lines) == 1
    assert shown.count(" model ") == 1 and shown.count("vqvae_ema") == 3  # one model column
    for value in ("0.0123", "0.172", "17.5", "0.453", "23.5", "0.000123456", "failed"):
        assert value in shown, value


@pytest.mark.slow
def test_a_diverging_job_does_not_end_the_sweep_and_a_short_run_exits_0(tmp_path: Path) -> None:
    quick = ["logger=csv", "trainer.limit_train_batches=3", "trainer.limit_val_batches=1"]
    quick += ["trainer.max_epochs=2", "test=false", "callbacks.kmeans_init=null"]
    sweep = tmp_path / "sweep"
    result = run_cli(
        ["-m", "model.optimizer.lr=1e12,1e-3", *quick, f"hydra.sweep.dir={sweep}"], tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (sweep / "0" / "FAILED").read_text().startswith("diverged:")
    assert (
        not (sweep / "1" / "FAILED").exists()
        and (sweep / "1" / "checkpoints" / "last.ckpt").is_file()
    )
    report = write_report(sweep, Console(width=80, record=True)).read_text()
    assert "- job 0: failed: diverged" in report

    short = run_cli(
        ["trainer.max_steps=2", "trainer.limit_val_batches=0", "logger=none", "test=false"],
        tmp_path,
    )
    assert short.returncode == 0, short.stderr[-2000:]
    assert "val_check_interval" in short.stdout + short.stderr
