"""Turn the errors a user can fix into one line on stderr and a non-zero exit, not a traceback.

Only vqlab's own anticipated input errors (``vqlab.errors.VqlabError`` and its subclasses, also
when raised inside ``hydra.utils.instantiate``) become one line. Anything else is a bug and keeps
its traceback; ``HYDRA_FULL_ERROR=1`` or ``VQLAB_DEBUG=1`` shows the full traceback of every error.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hydra.errors import InstantiationException

from vqlab.errors import ConfigValueError, UnknownConfigOptionError, VqlabError

__all__ = ["USER_ERRORS", "UnknownConfigOptionError", "check_group_options", "one_line_errors"]
USER_ERRORS = (VqlabError,)
DEBUG_VARIABLES = ("HYDRA_FULL_ERROR", "VQLAB_DEBUG")


def debugging() -> bool:
    """Whether the user asked for full tracebacks (``HYDRA_FULL_ERROR=1`` or ``VQLAB_DEBUG=1``)."""
    return any(os.environ.get(name, "") not in ("", "0") for name in DEBUG_VARIABLES)


def describe(error: BaseException) -> str:
    """One line naming the config key (when known), the cause and the fix."""
    full_key = ""
    if isinstance(error, InstantiationException):
        match = re.search(r"full_key: (\S+)", str(error))
        full_key = match.group(1) if match else ""
        error = error.__cause__ or error
    if isinstance(error, ConfigValueError):
        key = f"{full_key}.{error.argument}" if full_key else error.argument
        # a requirement may carry its own fix after a semicolon: "(c, h, w); use an MLP model"
        requirement, _, fix = (part.strip() for part in error.requirement.partition(";"))
        fix = fix or f"override it, e.g. `{key}=<value {requirement}>`"
        return f"{key} must be {requirement}, got {error.value!r}: {fix}"
    text = " ".join(str(error).split())
    return f"{full_key}: {text}" if full_key else text


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Report vqlab's input errors as ``vqlab: error: ...`` and exit with status 1."""
    try:
        yield
    except (InstantiationException, *USER_ERRORS) as error:
        if debugging():
            raise
        user_error = isinstance(error, USER_ERRORS) or isinstance(error.__cause__, USER_ERRORS)
        if not user_error:
            raise
        line = f"vqlab: error: {describe(error)}"
        print(line, file=sys.stderr)
        if logging.getLogger().handlers:  # inside a run: its train.log (the console has it)
            logging.getLogger("vqlab.log_file").error(line)
        raise SystemExit(1) from None


def check_group_options(arguments: list[str], config_dir: Path) -> None:
    """Reject ``group=option`` overrides whose option has no ``conf/group/option.yaml``.

    Hydra reports these over many lines; this names the group, the option, the closest option and
    the choices on one. Sweeps (``model=a,b``) and lists (``logger=[wandb,csv]``) are checked
    option by option.
    """
    for argument in arguments:
        key, separator, value = argument.lstrip("+~").partition("=")
        group_dir = config_dir / key.partition("@")[0]
        plugin_group = key.startswith("hydra/")  # also holds plugins' options; Hydra checks them
        if plugin_group or argument.startswith("-") or not separator or not group_dir.is_dir():
            continue
        available = sorted(path.stem for path in group_dir.glob("*.yaml"))
        for option in value.strip("[]").split(","):
            if option and option != "null" and option not in available:
                close = difflib.get_close_matches(option, available, n=1)
                hint = f"did you mean {key}={close[0]}? " if close else ""
                raise UnknownConfigOptionError(
                    f"unknown {key} '{option}': {hint}choose one of {', '.join(available)} "
                    f"({key}=<option>)"
                )
