"""Command-line entry points run in the test process: ``python -m vqlab.train ARGS`` (or an
experiment script's ``main``) without starting an interpreter, whose imports cost more than most of
these runs. The caller gets what a subprocess gives (exit status, stdout, stderr); everything the
entry point changes process-wide is put back."""

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

REPO_ROOT = Path(__file__).resolve().parents[1]


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
