"""The linear VQ lab's configs: the experiments run, bad input is one line naming key and fix."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from conftest import compose_train_config
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from in_process import run_cli_in_process

from vqlab.cli.one_line import describe
from vqlab.train import train

LAB = ["model=linear_vq", "data=gaussian_subspace"]


@pytest.mark.parametrize(
    "experiment", ["linear_vq_table", "linear_vq_codebook_size", "linear_vq_beta"]
)
def test_linear_vq_experiments_run_a_fast_dev_run(experiment: str, tmp_path: Path) -> None:
    overrides = [f"experiment={experiment}", "debug=default", "data.num_train=2048"]
    metrics = train(compose_train_config(overrides, tmp_path))
    assert math.isfinite(float(metrics["test/recon_sse"]))
    assert 0 < float(metrics["test/utilisation"]) <= 1


@pytest.mark.parametrize(
    ("override", "node", "message"),
    [
        (
            "model.encoder.latent_dim=65",
            "model",
            "model.encoder.latent_dim must be <= input_dim=64",
        ),
        ("model.codebook_size=0", "model", "model.codebook_size must be > 0"),
        ("model.estimator=nope", "model", "model.estimator must be one of ste, rotation"),
        ("data.rank=65", "data", "data.rank must be in [1, dim=64]"),
    ],
)
def test_bad_lab_input_names_the_key_and_the_fix(override, node, message, tmp_path) -> None:
    cfg = compose_train_config([*LAB, override], tmp_path)
    with pytest.raises(InstantiationException) as error:
        instantiate(cfg[node])
    line = describe(error.value)
    assert message in line
    assert f"override it, e.g. `{override.split('=')[0]}=" in line


def test_unknown_estimator_on_the_command_line_is_one_line(tmp_path: Path) -> None:
    overrides = [*LAB, "model.estimator=nope", f"hydra.run.dir={tmp_path / 'run'}"]
    result = run_cli_in_process(overrides, tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("vqlab: error:")]
    assert "model.estimator must be one of ste, rotation, displacement" in line
