"""What a user reads: the progress bar at 80 columns, the rounded final table in train.log too, and
no library warning on the console."""

from __future__ import annotations

import logging
from pathlib import Path

from conftest import compose_train_config
from rich.console import Console

from vqlab.callbacks.progress_bar import EpochProgressBar
from vqlab.cli.console import ConsoleFilter, final_table
from vqlab.train import build, fit_and_test


def test_the_progress_bar_at_80_columns_shows_three_short_metrics_one_per_line(
    tmp_path: Path,
) -> None:
    overrides = ["logger=none", "test=false", "trainer.max_epochs=1", "trainer.limit_val_batches=1"]
    overrides += ["trainer.limit_train_batches=4", "model.usage_window=2"]
    overrides += ["callbacks.codebook_figures=null", "callbacks.reconstruction_grid=null"]
    overrides += ["+callbacks.bar._target_=vqlab.callbacks.progress_bar.EpochProgressBar"]
    cfg = compose_train_config(overrides, tmp_path)
    run = build(cfg)
    fit_and_test(cfg, run)
    (bar,) = [callback for callback in run.callbacks if isinstance(callback, EpochProgressBar)]
    console = Console(width=80, record=True, color_system=None)
    console.print(bar.progress.get_renderable())
    lines = [line.rstrip() for line in console.export_text().splitlines() if line.strip()]

    assert len(lines) <= 3 and all(len(line) <= 80 for line in lines)
    shown = [line.split("it/s")[-1].strip() for line in lines]
    assert [item.split(":")[0] for item in shown] == ["recon", "vq", "ppl"]
    assert all(len(item.split(": ")) == 2 for item in shown)  # name and value on one line
    assert "v_num" not in console.export_text()


def test_the_final_table_is_rounded_and_goes_to_train_log(capsys, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="vqlab.log_file"):
        final_table({"test/recon_mse": 0.018476349115371704, "test/perplexity": 107.04812622070312})
    shown = capsys.readouterr().out
    assert "0.01848" in shown and "107" in shown and "0.0184763" not in shown
    (record,) = caplog.records
    assert "test/recon_mse" in record.getMessage() and "0.01848" in record.getMessage()
    assert not ConsoleFilter().filter(record)  # the console printed it already


def record(name: str, message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.WARNING, "x.py", 1, message, args, None)


def test_library_warnings_reach_train_log_but_not_the_console() -> None:
    console = ConsoleFilter()
    library = "/venv/site-packages/lightning/pytorch/callbacks/model_checkpoint.py:881: exists"
    assert not console.filter(record("py.warnings", "%s", library))
    assert console.filter(record("py.warnings", "%s", "/src/vqlab/data/x.py:3: UserWarning: x"))
    assert console.filter(record("vqlab", "vqlab: a warning of our own"))
