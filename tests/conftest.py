"""Shared test helpers: compose vqlab's Hydra configs in-process and run them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = REPO_ROOT / "conf"


def compose_train_config(overrides: Sequence[str], run_dir: Path) -> DictConfig:
    """``conf/train.yaml`` with ``overrides``, its paths pointed into ``run_dir``."""
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose(
            "train",
            overrides=[
                f"paths.root_dir={run_dir}",
                f"paths.output_dir={run_dir / 'run'}",
                *overrides,
            ],
        )


def run_cli(
    args: Sequence[str], cwd: Path, timeout: float = 300, pythonpath_tests: bool = False
) -> subprocess.CompletedProcess:
    """``python -m vqlab.train ARGS`` in ``cwd`` (the repo on PYTHONPATH, and tests/ with
    ``pythonpath_tests``: the probes of ``train_probes``), output captured."""
    path = [str(REPO_ROOT), *([str(REPO_ROOT / "tests")] if pythonpath_tests else [])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), "WANDB_MODE": "offline"}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [sys.executable, "-m", "vqlab.train", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def train_config(tmp_path: Path):
    """Factory fixture: ``train_config(["model=vqvae_ste", ...])`` -> composed DictConfig."""
    return lambda overrides=(): compose_train_config(overrides, tmp_path)
