"""The README's examples run as written: every Python block executes, every command composes."""

from __future__ import annotations

import re
import shlex

import pytest
import torch
from conftest import CONF_DIR, REPO_ROOT

import vqlab.cli.preflight
from vqlab.cli.one_line import check_group_options
from vqlab.cli.preflight import preflight

README = (REPO_ROOT / "README.md").read_text()
# blocks that load a trained run (`<time>` in its path) run in test_readme_sweeps.py, on the runs
# its fixture trains with the README's own commands; every other block runs here as written
PYTHON_BLOCKS = [
    block
    for block in re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)
    if "<time>" not in block
]
COMMANDS = [
    line.split("#")[0].strip()
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL)
    for line in block.splitlines()
    if line.startswith("python -m vqlab.train")
]


def test_the_readme_has_examples() -> None:
    assert len(PYTHON_BLOCKS) >= 3 and len(COMMANDS) >= 10


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda block: block.splitlines()[1][:40])
def test_readme_python_block_runs_as_written(block: str) -> None:
    torch.manual_seed(0)
    exec(compile(block, "README.md", "exec"), {})  # a fresh namespace: no name from elsewhere


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_passes_the_command_line_checks(command: str, monkeypatch) -> None:
    # the `trainer=gpu` examples, on a machine without a GPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(vqlab.cli.preflight, "free_bytes", lambda device: 2**40)
    arguments = shlex.split(command.replace("<time>", "2026-01-01"))[3:]
    arguments = [a for a in arguments if not a.startswith(("ckpt_path=", "resume="))]
    check_group_options(arguments, CONF_DIR)
    preflight(arguments, CONF_DIR)
