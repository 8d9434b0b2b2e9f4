"""The `slow` marker list of conftest.py: what it matches, and that it names real tests."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import SLOW, marked_slow

TESTS = Path(__file__).resolve().parent


def test_entries_cover_a_file_a_test_or_one_parametrisation() -> None:
    entries = ("test_a.py", "test_b.py::test_y", "test_c.py::test_z[one]")
    assert marked_slow("tests/test_a.py::test_anything[p]", entries) == "test_a.py"
    assert marked_slow("tests/test_b.py::test_y[p]", entries) == "test_b.py::test_y"
    assert marked_slow("tests/test_b.py::test_y_other", entries) is None
    assert marked_slow("tests/test_c.py::test_z[one]", entries) == "test_c.py::test_z[one]"
    assert marked_slow("tests/test_c.py::test_z[two]", entries) is None
    assert marked_slow("tests/test_ab.py::test_x", entries) is None


def test_every_entry_names_an_existing_file_and_test_function() -> None:
    for entry in SLOW:
        file, _, test = entry.partition("::")
        assert (TESTS / file).is_file(), entry
        if test:
            tree = ast.parse((TESTS / file).read_text())
            names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
            assert test.split("[")[0] in names, entry
