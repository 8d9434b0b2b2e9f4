"""``python -m vqlab.train model=hcvq`` from the command line: digits, CelebA, missing giotto-ph."""

from __future__ import annotations

import csv
import importlib
import math
import sys
from pathlib import Path

import pytest
from conftest import compose_train_config
from hydra.utils import instantiate
from in_process import run_cli_in_process

from vqlab.cli.one_line import one_line_errors

DIGITS = ["model=hcvq", "model.hcvq.asynchronous=false", "debug=default", "test=false"]


def test_fast_dev_run_of_hcvq_on_digits_with_default_and_homology_callbacks(
    tmp_path: Path,
) -> None:
    sweep = tmp_path / "sweep"
    args = ["-m", *DIGITS, "callbacks=default,homology", f"hydra.sweep.dir={sweep}"]
    result = run_cli_in_process(args, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    diagrams = sorted(sweep.glob("*/persistence_diagrams/step_0000000.png"))
    assert [path.parts[-3] for path in diagrams] == ["1"]  # only the callbacks=homology job


def test_homology_callback_composes_onto_the_default_callbacks(tmp_path: Path) -> None:
    config = compose_train_config([*DIGITS, "callbacks=homology"], tmp_path)
    assert {"model_checkpoint", "finite_loss", "homology"} <= set(config.callbacks)
    assert config.model.hcvq.homology.b1_target == 100.0


def test_missing_giotto_ph_is_one_line_saying_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    config = compose_train_config(DIGITS, tmp_path)
    monkeypatch.setitem(sys.modules, "gph", None)  # ``import gph`` now raises ImportError
    with pytest.raises(SystemExit) as exit_info, one_line_errors():
        instantiate(config.model)
    assert exit_info.value.code == 1
    stderr = capsys.readouterr().err.strip().splitlines()
    assert len(stderr) == 1
    assert stderr[0].startswith("vqlab: error: model.hcvq")
    assert stderr[0].endswith("pip install 'vqlab[topology]'")


def _has_celeba() -> bool:
    data = importlib.import_module("vqlab.data")
    return "CelebADataModule" in getattr(data, "__all__", ())


@pytest.mark.skipif(not _has_celeba(), reason="vqlab.data has no CelebA datamodule yet")
def test_fast_dev_run_of_hcvq_on_a_generated_celeba_copy(tmp_path: Path) -> None:
    # wired after the data merge: write a tiny CelebA copy with tests/fake_datasets.py
    fake_datasets = importlib.import_module("fake_datasets")
    root = tmp_path / "celeba_root"
    fake_datasets.write_celeba(root, counts=(4, 2, 2))
    overrides = ["model=hcvq", "data=celeba", f"data.root={root}", "debug=default", "test=false"]
    config = compose_train_config(overrides, tmp_path)
    assert instantiate(config.model.hcvq).enabled
    result = run_cli_in_process([*overrides, f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]


def test_headline_command_alone_logs_every_hcvq_metric_finite_from_step_0(tmp_path: Path) -> None:
    fake_datasets = importlib.import_module("fake_datasets")
    root = tmp_path / "celeba_root"
    fake_datasets.write_celeba(root, counts=(8, 2, 2), size=(70, 80))
    args = [
        "model=hcvq",
        "data=celeba",
        f"data.root={root}",
        "data.crop_size=64",
        "data.image_size=16",
        "data.batch_size=2",
        "model.hcvq.asynchronous=false",
        "logger=csv",
        "test=false",
        "trainer.max_epochs=1",  # 8 images in batches of 2: 4 steps
        "trainer.log_every_n_steps=2",
        "trainer.limit_val_batches=1",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    result = run_cli_in_process(args, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (metrics_file,) = (tmp_path / "run").glob("csv/version_*/metrics.csv")
    with metrics_file.open() as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("hcvq/b1")]
    names = ["b1", "eps0", "scale", "loss", "persistent_entropy_h0", "persistent_entropy_h1"]
    assert [int(row["step"]) for row in rows] == [0, 1, 3]
    for row in rows:
        for name in names:
            assert math.isfinite(float(row[f"hcvq/{name}"])), (row["step"], name)
    assert float(rows[0]["hcvq/scale"]) == 0.0  # s = 0 for the first `period` (200) steps
