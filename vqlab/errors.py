"""Errors that the command line reports as one line, without a traceback.

Every anticipated input error (a config value, key or option a user can fix, a missing dataset, a
run directory in use, a missing optional dependency) derives from :class:`VqlabError`. The entry
point prints these as ``vqlab: error: ...``; any other exception is a bug and keeps its traceback.
Each type also derives from the builtin a caller would expect (``ValueError``, ...), so existing
``except ValueError`` code keeps working.
"""

from __future__ import annotations


class VqlabError(Exception):
    """Base of vqlab's anticipated input errors: the message is one line naming the key and fix."""


class ConfigError(VqlabError, ValueError):
    """A config choice that cannot work; the message names the key and the fix."""


class ConfigValueError(ConfigError):
    """A constructor argument has a value it cannot take.

    ``argument`` is the constructor argument's name, which is also its config key, so the entry
    point can name the full key (``model.quantizer.codebook_size``) in its one-line message.
    """

    def __init__(self, argument: str, requirement: str, value: object) -> None:
        super().__init__(f"{argument} must be {requirement}, got {value!r}")
        self.argument = argument
        self.requirement = requirement
        self.value = value


class UnknownConfigKeyError(ConfigError):
    """An override names a config key (or adds one with ``+``) that nothing reads."""


class UnknownConfigOptionError(ConfigError):
    """A command-line override names a config-group option that does not exist."""


class EmptySplitError(ConfigError):
    """A dataset split (train, val or test) holds no sample."""


class DeviceNotFoundError(ConfigError):
    """The config asks for an accelerator (a GPU) that this machine does not have."""


class MissingDependencyError(VqlabError, ImportError):
    """An optional dependency is not installed; the message says how to install it."""


class RunDirectoryExistsError(VqlabError, FileExistsError):
    """A new run would write into a directory that already holds a run."""


def check_positive(argument: str, value: float) -> None:
    """Raise ``ConfigValueError`` unless ``value > 0``."""
    if not value > 0:
        raise ConfigValueError(argument, "> 0", value)


def check_non_negative(argument: str, value: float) -> None:
    """Raise ``ConfigValueError`` unless ``value >= 0``."""
    if not value >= 0:
        raise ConfigValueError(argument, ">= 0", value)


class NonFiniteLossError(VqlabError, RuntimeError):
    """The training loss became NaN or infinite; the run stops before anything is saved."""


class DatasetNotFoundError(VqlabError, FileNotFoundError):
    """A dataset's files are missing or incomplete where the config points.

    The message is one line: what was looked for where, the layouts accepted, and the fix
    (``data.root=...``, or ``data.download=true`` where the dataset can be downloaded).
    """


class UnreadableImageError(VqlabError, OSError):
    """An image file that is empty, truncated or not an image; the message names the file."""


class DataIntegrityError(VqlabError, ValueError):
    """A dataset file is not what it should be: a checksum differs from the official one, or its
    values do not fit the format it claims."""


class RunDirectoryError(VqlabError, FileNotFoundError):
    """A path given as a run or multirun directory lacks what a training run writes there."""


class CheckpointMismatchError(VqlabError, ValueError):
    """A checkpoint's weights do not fit the model that its run's config builds."""


class CheckpointFileError(VqlabError, ValueError):
    """A checkpoint path that is missing, truncated or not a Lightning checkpoint."""


class MetricNotFoundError(VqlabError, ValueError):
    """``optimized_metric`` names a metric that the run never logged."""


class ConfigCombinationError(ConfigError):
    """Two parts of a config that each make sense do not go together (e.g. a codebook callback
    on a model without a codebook); the message names both and the fix."""


class UntrustedRunError(VqlabError, ValueError):
    """A run directory's config or checkpoint would run code that vqlab does not vouch for; the
    message says how to open it anyway (``trust=True``) when its author is trusted."""
