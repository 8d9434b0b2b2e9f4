"""Every script in ``experiments/`` still runs: ``python -m experiments.<name> --quick``.

Discovery is automatic: every ``experiments/*.py`` that defines a top-level ``main`` is a script
(helpers such as ``optional.py`` define none), so a script added later is tested without editing
this file, and must take ``--quick`` (tiny sizes, seconds). Each script's ``main`` runs in this
process with ``sys.argv`` set to ``--quick`` (a fresh interpreter per script cost more than most
scripts), and one script also runs as the README runs them: a fresh ``python -m`` from the
repository root. A script whose baseline package (the ``bench`` extra) is missing exits with
``experiments.optional.SKIPPED`` and one ``experiments: skipped:`` line: that is a skip, with the
line as its reason; any other non-zero exit fails.
"""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from in_process import run_entry_point

REPO_ROOT = Path(__file__).resolve().parents[1]
SKIPPED = 77  # experiments.optional.SKIPPED (not imported: plain `pytest` has no root on sys.path)
TIMEOUT_S = 600  # generous: the machine may be shared; idle, each script takes a few seconds
SUBPROCESS_SCRIPT = "bench_nearest_centring"  # the lightest import; needs no bench extra


def has_main(path: Path) -> bool:
    """Whether ``path`` defines a top-level function ``main`` (what makes it a script)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body)


SCRIPTS = sorted(path.stem for path in (REPO_ROOT / "experiments").glob("*.py") if has_main(path))


def test_discovery_finds_the_scripts_of_the_readme() -> None:
    assert {"bench_quantizer", "bench_hcvq", "cae", "hcvq_vs_baseline"} <= set(SCRIPTS)
    assert "optional" not in SCRIPTS and "__init__" not in SCRIPTS
    assert f"SKIPPED = {SKIPPED}" in (REPO_ROOT / "experiments" / "optional.py").read_text()


def run_main(name: str, monkeypatch: pytest.MonkeyPatch) -> subprocess.CompletedProcess:
    """``experiments.<name>.main()`` as ``python -m experiments.<name> --quick`` would run it, in
    this process (``in_process.run_entry_point``): exit status, stdout, stderr."""
    monkeypatch.syspath_prepend(str(REPO_ROOT))  # plain `pytest` has no root on sys.path
    # imported before the output is captured: import-time log handlers keep the session's streams
    module = importlib.import_module(f"experiments.{name}")
    threads = torch.get_num_threads()  # scripts set their own thread count
    try:
        return run_entry_point(
            module.main,
            str(REPO_ROOT / "experiments" / f"{name}.py"),
            ["--quick"],
            REPO_ROOT,
            {"WANDB_MODE": "disabled", "MPLBACKEND": "Agg"},
        )
    finally:
        torch.set_num_threads(threads)


def test_a_missing_baseline_exits_with_the_skip_status_and_one_line(monkeypatch, capsys) -> None:
    monkeypatch.syspath_prepend(str(REPO_ROOT))
    from experiments.optional import require

    with pytest.raises(SystemExit) as exit_:
        require("vqlab_no_such_module", "no-such")
    assert exit_.value.code == SKIPPED
    stderr = capsys.readouterr().err
    assert stderr.strip().startswith("experiments: skipped: ")
    assert "no-such" in stderr and len(stderr.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.parametrize("name", SCRIPTS)
def test_script_runs_with_quick(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    source = (REPO_ROOT / "experiments" / f"{name}.py").read_text()
    assert "--quick" in source, f"experiments/{name}.py needs a --quick flag (tiny sizes)"
    result = run_main(name, monkeypatch)
    if result.returncode == SKIPPED:
        pytest.skip(result.stderr.strip().splitlines()[-1])
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stderr[-3000:]}"
    assert result.stdout.strip(), "a script prints its results"


@pytest.mark.slow
def test_a_script_runs_as_the_readme_runs_it() -> None:
    """A fresh ``python -m experiments.<name> --quick`` from the root, nothing on PYTHONPATH."""
    env = {**os.environ, "WANDB_MODE": "disabled", "MPLBACKEND": "Agg"}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, "-m", f"experiments.{SUBPROCESS_SCRIPT}", "--quick"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stderr[-3000:]}"
    assert result.stdout.strip(), "a script prints its results"
