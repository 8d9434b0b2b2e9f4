"""Shared test helpers: compose vqlab's Hydra configs in-process and run them."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from ddp_group import DDPResults, run_group
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


def run_cli(args: Sequence[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m vqlab.train ARGS`` in ``cwd`` (the repo on PYTHONPATH), output captured."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "WANDB_MODE": "offline"}
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


# --- Shared process groups and in-process entry points (the suite's speed) ---------------------


@pytest.fixture(scope="session")
def ddp_results(request: pytest.FixtureRequest, tmp_path_factory) -> DDPResults:
    """Every selected DDP scenario (the ``DDP_WORKERS`` of the modules whose tests take this
    fixture) run in one two-process gloo group; see ``tests/ddp_group.py``."""
    workers = []
    for item in request.session.items:
        if "ddp_results" in getattr(item, "fixturenames", ()):
            workers += [w for w in getattr(item.module, "DDP_WORKERS", ()) if w not in workers]
    return run_group(tmp_path_factory.mktemp("ddp"), workers)


@contextlib.contextmanager
def restored_process_state(cwd: Path) -> Iterator[None]:
    """Run a command-line entry point in this process, then undo what it changed globally: the
    working directory, ``sys.argv``, the environment, the logging setup Hydra and
    ``vqlab.cli.console`` install (root handlers, filters and level, Lightning's loggers, warnings
    routed to logging)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    filters = {handler: handler.filters[:] for handler in handlers}
    library = {
        name: (logger.handlers[:], logger.propagate, logger.level)
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and name.split(".")[0] == "lightning"
    }
    showwarning, environment, argv = warnings.showwarning, os.environ.copy(), sys.argv[:]
    previous_cwd = os.getcwd()
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(previous_cwd)
        sys.argv[:] = argv
        os.environ.clear()
        os.environ.update(environment)
        logging.captureWarnings(False)
        warnings.showwarning = showwarning
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
        for handler, kept in filters.items():
            handler.filters[:] = kept
        for name, (kept, propagate, library_level) in library.items():
            logger = logging.getLogger(name)
            logger.handlers[:], logger.propagate = kept, propagate
            logger.setLevel(library_level)


def run_entry_point(
    main: Callable[[], object],
    argv0: str,
    args: Sequence[str],
    cwd: Path,
    environment: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """``main()`` with ``sys.argv = [argv0, *args]`` in this process, as ``python -m`` would run it
    (the environment of ``run_cli``, plus ``environment``): its exit status, stdout and stderr. A
    ``SystemExit`` gives its code; any other exception exits 1 with its traceback on stderr, as the
    interpreter does."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with (
        restored_process_state(cwd),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        os.environ.update(
            {"PYTHONPATH": str(REPO_ROOT), "WANDB_MODE": "offline", **(environment or {})}
        )
        os.environ.pop("HYDRA_FULL_ERROR", None)
        sys.argv[:] = [argv0, *args]
        try:
            main()
            status = 0
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
            if exit_.code is not None and not isinstance(exit_.code, int):
                print(exit_.code, file=sys.stderr)
        except Exception:
            traceback.print_exc()
            status = 1
    return subprocess.CompletedProcess([argv0, *args], status, stdout.getvalue(), stderr.getvalue())


def run_cli_in_process(
    args: Sequence[str], cwd: Path, environment: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``run_cli`` without a new interpreter: ``vqlab.train.cli`` (what ``python -m vqlab.train``
    runs) in this process. For the command line's checks and one-line errors; real subprocesses
    stay where a test needs its own process (DDP, W&B runs, a fresh import)."""
    from vqlab import train

    return run_entry_point(train.cli, train.__file__, args, cwd, environment)


@pytest.fixture(scope="session")
def ddp_cli_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess, Path]:
    """One real ``python -m vqlab.train trainer=ddp`` (two gloo ranks on CPU): one epoch of the
    digits with the default callbacks (respawn every 5 steps), W&B offline and CSV. Shared by the
    tests of sharding (``test_cli``) and of rank-zero-only logging (``test_dashboards``)."""
    cwd = tmp_path_factory.mktemp("ddp_cli")
    run_dir = cwd / "run"
    result = run_cli(
        [
            "trainer=ddp",
            "trainer.accelerator=cpu",
            "logger=[wandb,csv]",
            "trainer.max_epochs=1",
            "data=digits",
            "callbacks.respawn.every_n_steps=5",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=cwd,
        timeout=600,
    )
    return result, run_dir
