"""What a user reads: the progress bar at 80 columns, the rounded final table in train.log too, no
library warning on the console, and figures that keep every validation, name their codebook and
label their rows."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from conftest import compose_train_config
from rich.console import Console

from vqlab.callbacks.codebook_figures import pca_figure
from vqlab.callbacks.image_logging import label_rows
from vqlab.callbacks.progress_bar import EpochProgressBar
from vqlab.cli.console import ConsoleFilter, final_table
from vqlab.train import build, fit_and_test, train


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


def test_grids_use_the_datas_value_range(tmp_path: Path) -> None:
    cfg = compose_train_config(["data.value_range=[0.0,1.0]", "model=cae"], tmp_path)
    assert list(cfg.callbacks.reconstruction_grid.value_range) == [0.0, 1.0]
    assert list(cfg.callbacks.selected_pixels.value_range) == [0.0, 1.0]


def test_pca_map_has_a_colour_bar_and_grid_rows_are_labelled() -> None:
    counts = torch.tensor([3.0, 0.0, 5.0, 1.0])
    figure = pca_figure(torch.randn(4, 3), torch.randn(20, 3), counts, "top codebook")
    assert len(figure.axes) == 2 and figure.axes[1].get_ylabel() == "log(1 + count)"
    grid = np.full((40, 60, 3), 128, dtype=np.uint8)
    labelled = label_rows(grid, ["selected", "input there", "output"])
    margin = labelled.shape[1] - 60
    assert labelled.shape[0] == 40 and margin == 8 + 6 * len("input there")
    for row in range(3):  # dark text in each row's band of the white margin
        assert labelled[row * 13 : (row + 1) * 13, :margin].min() < 100


def test_vqvae2_figures_name_their_level_and_no_validation_overwrites_another(
    tmp_path: Path,
) -> None:
    overrides = ["model=vqvae2", "logger=none", "test=false", "trainer.max_epochs=2"]
    overrides += ["trainer.limit_train_batches=4", "trainer.val_check_interval=2"]
    overrides += ["trainer.limit_val_batches=1", "callbacks.codebook_figures.every_n_epochs=5"]
    overrides += ["trainer.enable_progress_bar=false"]
    train(compose_train_config(overrides, tmp_path))
    run = tmp_path / "run"
    steps = ["epoch_000_step_000002", "epoch_000_step_000004"]
    steps += ["epoch_001_step_000006", "epoch_001_step_000008"]  # the last epoch: the final state
    for folder in ("reconstructions", "codebook_pca/top", "codebook_usage/bottom"):
        assert sorted(path.stem for path in (run / folder).iterdir()) == steps, folder
