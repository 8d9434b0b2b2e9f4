"""Errors that the command line reports as one line, without a traceback."""

from __future__ import annotations


class ConfigValueError(ValueError):
    """A constructor argument has a value it cannot take.

    ``argument`` is the constructor argument's name, which is also its config key, so the entry
    point can name the full key (``model.quantizer.codebook_size``) in its one-line message.
    """

    def __init__(self, argument: str, requirement: str, value: object) -> None:
        super().__init__(f"{argument} must be {requirement}, got {value!r}")
        self.argument = argument
        self.requirement = requirement
        self.value = value


def check_positive(argument: str, value: float) -> None:
    """Raise ``ConfigValueError`` unless ``value > 0``."""
    if not value > 0:
        raise ConfigValueError(argument, "> 0", value)


def check_non_negative(argument: str, value: float) -> None:
    """Raise ``ConfigValueError`` unless ``value >= 0``."""
    if not value >= 0:
        raise ConfigValueError(argument, ">= 0", value)


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; the run stops before anything is saved."""


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are missing or incomplete where the config points.

    The message is one line: what was looked for where, the layouts accepted, and the fix
    (``data.root=...``, or ``data.download=true`` where the dataset can be downloaded).
    """


class RunDirectoryError(FileNotFoundError):
    """A path given as a run or multirun directory lacks what a training run writes there."""


class CheckpointMismatchError(ValueError):
    """A checkpoint's weights do not fit the model that its run's config builds."""


class MetricNotFoundError(ValueError):
    """``optimized_metric`` names a metric that the run never logged."""


class ConfigCombinationError(ValueError):
    """Two parts of a config that each make sense do not go together (e.g. a codebook callback
    on a model without a codebook); the message names both and the fix."""
