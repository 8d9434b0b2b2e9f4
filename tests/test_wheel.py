"""A non-editable install works: the wheel ships conf/ inside the package, and the installed CLI
finds it from any directory, without the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT

# What a wheel is built from; copied so that the build leaves nothing in the checkout.
SOURCES = ["vqlab", "conf", "setup.py", "pyproject.toml", "README.md", "LICENSE"]


def pip(*args: str, cwd: Path) -> None:
    command = [sys.executable, "-m", "pip", *args, "--quiet", "--no-deps"]
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, timeout=300)


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """vqlab built into a wheel, installed into a fresh folder outside the repository."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    for name in SOURCES:
        if (REPO_ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(REPO_ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy(REPO_ROOT / name, source / name)
    pip("wheel", "--no-build-isolation", "--wheel-dir", str(root / "dist"), ".", cwd=source)
    (wheel,) = (root / "dist").glob("vqlab-*.whl")
    pip("install", "--target", str(root / "site"), str(wheel), cwd=root)
    return root / "site"


def run_installed(target: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``python -m vqlab.train ARGS`` with only the installed copy of vqlab importable."""
    env = {**os.environ, "PYTHONPATH": str(target), "WANDB_MODE": "offline"}
    return subprocess.run(
        [sys.executable, "-m", "vqlab.train", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_wheel_ships_every_config_file(target: Path) -> None:
    shipped = {path.relative_to(target / "vqlab" / "conf") for path in target.rglob("*.yaml")}
    in_repo = {
        path.relative_to(REPO_ROOT / "conf") for path in (REPO_ROOT / "conf").rglob("*.yaml")
    }
    assert shipped == in_repo


def test_the_installed_cli_prints_its_config_from_another_directory(
    target: Path, tmp_path: Path
) -> None:
    result = run_installed(target, ["--cfg", "job"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    cfg = yaml.safe_load(result.stdout)
    assert cfg["model"]["_target_"] == "vqlab.models.VQVAE"
    assert cfg["trainer"]["max_steps"] == -1


def test_the_installed_cli_trains_from_another_directory(target: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_installed(target, ["debug=default", f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    hydra = yaml.safe_load((run_dir / ".hydra" / "hydra.yaml").read_text())
    sources = [source["path"] for source in hydra["hydra"]["runtime"]["config_sources"]]
    assert str(target / "vqlab" / "conf") in sources  # the installed configs, not the checkout's
    assert not any(str(REPO_ROOT) in source for source in sources)
