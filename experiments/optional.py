"""Baseline packages the benchmarks compare against, declared in the ``bench`` extra.

A script that needs one calls :func:`require` at the start of ``main``. When the package is
missing, it prints one line, ``experiments: skipped: ...`` naming the package and the install
command, to stderr and exits with :data:`SKIPPED` (77, the "skipped" code of automake's test
harness): ``tests/test_experiments.py`` reports that as a skip with the message, while any other
non-zero status is a failure. ``make bench`` installs the extra, so there it never skips.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

SKIPPED = 77
INSTALL = "pip install -e '.[bench]'"


def require(module: str, package: str) -> ModuleType:
    """Import ``module`` (the distribution ``package``), or exit with :data:`SKIPPED`."""
    try:
        return importlib.import_module(module)
    except ImportError:
        script = sys.argv[0].rsplit("/", 1)[-1]
        print(
            f"experiments: skipped: {script} needs {package} (its baseline); {INSTALL}",
            file=sys.stderr,
        )
        raise SystemExit(SKIPPED) from None
