"""Can this process start a ``spawn`` worker without re-running the user's script?

A ``spawn`` (or ``forkserver``) child imports the parent's main script to unpickle its work. A
script that calls training at module level, without an ``if __name__ == "__main__":`` guard, is
then run again inside the child, which trains, tries to start its own worker and dies with
multiprocessing's bare ``RuntimeError`` about the bootstrapping phase. Python cannot tell from the
running process whether the call sits under the guard, so this reads the main script's source.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

GUARD = re.compile(r"""^\s*if\s+__name__\s*==\s*["']__main__["']\s*:""", re.MULTILINE)


def main_script_is_guarded() -> bool:
    """False when the main module is a script file whose source has no ``__main__`` guard.

    True for ``python -m module`` entry points with a guard (``python -m vqlab.train``), for
    interactive sessions and notebooks (no script file: the child does not re-run anything), and
    when the source cannot be read (nothing to go on: assume the user knows).
    """
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    if path is None:
        return True
    try:
        source = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True
    return GUARD.search(source) is not None
