"""Every script in ``experiments/`` still runs: ``python -m experiments.<name> --quick``.

Discovery is automatic: every ``experiments/*.py`` that defines a top-level ``main`` is a script
(helpers such as ``optional.py`` define none), so a script added later is tested without editing
this file, and must take ``--quick`` (tiny sizes, seconds). Each runs in a fresh subprocess from
the repository root, as the README's commands do. A script whose baseline package (the ``bench``
extra) is missing exits with ``experiments.optional.SKIPPED`` and one ``experiments: skipped:``
line: that is a skip, with the line as its reason; any other non-zero exit fails.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SKIPPED = 77  # experiments.optional.SKIPPED (not imported: plain `pytest` has no root on sys.path)
TIMEOUT_S = 600  # generous: the machine may be shared; idle, each script takes a few seconds


def has_main(path: Path) -> bool:
    """Whether ``path`` defines a top-level function ``main`` (what makes it a script)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body)


SCRIPTS = sorted(path.stem for path in (REPO_ROOT / "experiments").glob("*.py") if has_main(path))


def test_discovery_finds_the_scripts_of_the_readme() -> None:
    assert {"bench_quantizer", "bench_hcvq", "cae", "hcvq_vs_baseline"} <= set(SCRIPTS)
    assert "optional" not in SCRIPTS and "__init__" not in SCRIPTS
    assert f"SKIPPED = {SKIPPED}" in (REPO_ROOT / "experiments" / "optional.py").read_text()


def test_a_missing_baseline_exits_with_the_skip_status_and_one_line() -> None:
    code = "from experiments.optional import require; require('vqlab_no_such_module', 'no-such')"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == SKIPPED
    assert result.stderr.strip().startswith("experiments: skipped: ")
    assert "no-such" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.parametrize("name", SCRIPTS)
def test_script_runs_with_quick(name: str, tmp_path: Path) -> None:
    source = (REPO_ROOT / "experiments" / f"{name}.py").read_text()
    assert "--quick" in source, f"experiments/{name}.py needs a --quick flag (tiny sizes)"
    env = {**os.environ, "WANDB_MODE": "disabled", "MPLBACKEND": "Agg"}
    env.pop("PYTHONPATH", None)  # the README's way: `python -m` from the root, nothing else
    result = subprocess.run(
        [sys.executable, "-m", f"experiments.{name}", "--quick"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    if result.returncode == SKIPPED:
        pytest.skip(result.stderr.strip().splitlines()[-1])
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stderr[-3000:]}"
    assert result.stdout.strip(), "a script prints its results"
