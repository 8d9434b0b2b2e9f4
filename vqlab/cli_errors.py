"""Turn the errors a user can fix into one line on stderr and a non-zero exit, not a traceback."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hydra.errors import InstantiationException

from vqlab.errors import ConfigCombinationError, ConfigValueError, NonFiniteLossError

USER_ERRORS = (
    ConfigValueError,
    ConfigCombinationError,
    NonFiniteLossError,
    FileNotFoundError,
    FileExistsError,
    ImportError,
    ValueError,
)


def describe(error: BaseException) -> str:
    """One line naming the config key (when known), the cause and the fix."""
    full_key = ""
    if isinstance(error, InstantiationException):
        match = re.search(r"full_key: (\S+)", str(error))
        full_key = match.group(1) if match else ""
        error = error.__cause__ or error
    if isinstance(error, ConfigValueError):
        key = f"{full_key}.{error.argument}" if full_key else error.argument
        return (
            f"{key} must be {error.requirement}, got {error.value!r}: "
            f"override it, e.g. `{key}=<value {error.requirement}>`"
        )
    text = " ".join(str(error).split())
    return f"{full_key}: {text}" if full_key else text


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Report user errors as ``vqlab: error: ...`` and exit with status 1."""
    try:
        yield
    except InstantiationException as error:
        if not isinstance(error.__cause__, USER_ERRORS):
            raise
        print(f"vqlab: error: {describe(error)}", file=sys.stderr)
        raise SystemExit(1) from None
    except USER_ERRORS as error:
        print(f"vqlab: error: {describe(error)}", file=sys.stderr)
        raise SystemExit(1) from None


class UnknownConfigOptionError(ValueError):
    """A command-line override names a config-group option that does not exist."""


def check_group_options(arguments: list[str], config_dir: Path) -> None:
    """Reject ``group=option`` overrides whose option has no ``conf/group/option.yaml``.

    Hydra reports these over many lines; this names the group, the option and the choices on one.
    Sweeps (``model=a,b``) and lists (``logger=[wandb,csv]``) are checked option by option.
    """
    for argument in arguments:
        key, separator, value = argument.lstrip("+~").partition("=")
        group_dir = config_dir / key
        plugin_group = key.startswith("hydra/")  # also holds plugins' options; Hydra checks them
        if plugin_group or argument.startswith("-") or not separator or not group_dir.is_dir():
            continue
        available = sorted(path.stem for path in group_dir.glob("*.yaml"))
        for option in value.strip("[]").split(","):
            if option and option != "null" and option not in available:
                raise UnknownConfigOptionError(
                    f"unknown {key} '{option}': choose one of {', '.join(available)} "
                    f"({key}=<option>)"
                )
