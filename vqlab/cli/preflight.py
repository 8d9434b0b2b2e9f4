"""Check the command line and the composed config before Hydra creates a run directory.

Composes the config the way the run will (the first value of each sweep), then refuses mistyped
keys and ``+key`` overrides nothing reads (``vqlab.cli.overrides``), values their constructor
cannot take, required values left unset (``???``), negative learning rates, a GPU trainer on a
machine without one; and warns about a codebook too large for the device. Every refusal is a
``vqlab.errors`` type, so the entry point prints one line and nothing is written to disk.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import torch
from hydra import compose, initialize_config_dir
from hydra._internal.utils import get_args_parser
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override
from hydra.errors import HydraException, OverrideParseException
from omegaconf import DictConfig, OmegaConf

from vqlab.cli.overrides import check_keys, check_types, key_paths, node_at
from vqlab.data.residency import free_bytes
from vqlab.errors import ConfigError, ConfigValueError, DeviceNotFoundError

GPU_ACCELERATORS = ("gpu", "cuda")
# Hydra's message for a sweeper / launcher config that no installed plugin provides
MISSING_PLUGIN = re.compile(r"Could not find 'hydra/(sweeper|launcher)/(\w+)'")
# Above this many codes a warning says every batch searches all of them (seconds per step on CPU).
LARGE_CODEBOOK = 2**20
# Codebook, its EMA sums or gradient, and two Adam moments: four float32 copies.
CODEBOOK_COPIES = 4
MEMORY_FRACTION = 0.25


def config_groups(config_dir: Path) -> set[str]:
    """Every config group: ``model``, ``model/quantizer``, ... (folders under ``conf/``)."""
    return {
        path.relative_to(config_dir).as_posix() for path in config_dir.rglob("*") if path.is_dir()
    }


def is_hydra(override: Override) -> bool:
    """Overrides of Hydra's own config (``hydra.run.dir``, ``hydra/launcher=...``)."""
    key = override.key_or_group
    return key == "hydra" or key.startswith(("hydra.", "hydra/"))


def probe_string(override: Override) -> str | None:
    """The override with a sweep replaced by its first value; None for an interval sweep."""
    if not override.is_sweep_override():
        return override.input_line
    if isinstance(override.value(), IntervalSweep):
        return None
    return f"{override.get_key_element()}={next(override.sweep_string_iterator())}"


def compose_probe(config_dir: Path, config_name: str, overrides: list[Override]) -> DictConfig:
    """``compose(config_name, overrides)``; a composition error becomes one ``ConfigError`` line."""
    lines = [line for line in map(probe_string, overrides) if line is not None]
    try:
        with initialize_config_dir(str(config_dir), version_base="1.3", job_name="train"):
            return compose(config_name, overrides=lines)
    except HydraException as error:
        message = " ".join(str(error).split())
        plugin = MISSING_PLUGIN.search(message)
        if plugin is not None:  # the Optuna sweeper or the submitit launcher is not installed
            message = (
                f"{plugin[0]}: the {plugin[1]} '{plugin[2]}' is a Hydra plugin that is not "
                "installed; install vqlab's sweep extra: pip install 'vqlab[sweep]'"
            )
        raise ConfigError(message) from error


def parse_overrides(lines: list[str]) -> list[Override]:
    """Hydra's parse of the overrides; a line it cannot parse is one ``ConfigError`` naming it
    and the usual fix (a value holding ``=``, like Lightning's ``step=6.ckpt``, needs quotes)."""
    parser = OverridesParser.create()
    for line in lines:
        try:
            parser.parse_overrides([line])
        except OverrideParseException as error:
            key, _, value = line.partition("=")
            cause = str(error).splitlines()[0]
            raise ConfigError(
                f"cannot read the override {line!r} ({cause}): quote a value holding '=', ',' "
                f"or brackets, e.g. \"{key}='{value}'\""
            ) from None
    return parser.parse_overrides(lines)


def preflight(arguments: list[str], config_dir: Path) -> DictConfig | None:
    """The composed config after every check; None for ``--help``-like calls (nothing to check)."""
    args = get_args_parser().parse_args(arguments)
    if args.help or args.hydra_help or args.info or args.shell_completion:
        return None
    config_name = args.config_name or "train"
    overrides = parse_overrides(args.overrides)
    overrides = [override for override in overrides if not is_hydra(override)]
    groups = config_groups(config_dir)
    choices = [override for override in overrides if override.key_or_group in groups]
    values = [override for override in overrides if override.key_or_group not in groups]
    cfg = compose_probe(config_dir, config_name, choices)
    check_keys(cfg, values, groups)
    check_types(cfg, values)
    cfg = compose_probe(config_dir, config_name, overrides)
    check_values(cfg)
    return cfg


def check_values(cfg: DictConfig) -> None:
    """Required values set, learning rates >= 0, a GPU where the trainer asks for one."""
    missing = [key for key in key_paths(cfg) if node_at(cfg, key)._is_missing()]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise ConfigError(
            f"{', '.join(missing)} {verb} required (no default): pass "
            + " ".join(f"{key}=<value>" for key in missing)
        )
    for key in key_paths(cfg):
        if key.rsplit(".", 1)[-1] == "lr":
            lr = select(cfg, key)
            if isinstance(lr, int | float) and lr < 0:
                raise ConfigValueError(key, ">= 0", lr)
    accelerator = str(select(cfg, "trainer.accelerator"))
    if accelerator in GPU_ACCELERATORS and not torch.cuda.is_available():
        raise DeviceNotFoundError(
            f"no GPU found (trainer.accelerator={accelerator}): use trainer=cpu, "
            "or trainer.accelerator=cpu"
        )
    warn_large_codebooks(cfg, accelerator)


def select(cfg: DictConfig, key: str) -> Any:
    """The resolved value at ``key``; None when missing or not resolvable outside a run."""
    return OmegaConf.select(cfg, key, throw_on_resolution_failure=False)


def warn_large_codebooks(cfg: DictConfig, accelerator: str) -> None:
    """Warn (one line) about a codebook whose search or state will not fit the device."""
    device = torch.device("cuda" if accelerator in GPU_ACCELERATORS else "cpu")
    for key in key_paths(cfg):
        if key.rsplit(".", 1)[-1] != "codebook_size":
            continue
        size, dim = select(cfg, key), select(cfg, key.rsplit(".", 1)[0] + ".dim")
        if not isinstance(size, int) or not isinstance(dim, int):
            continue
        state_bytes = CODEBOOK_COPIES * 4 * size * dim
        if size > LARGE_CODEBOOK or state_bytes > MEMORY_FRACTION * free_bytes(device):
            print(
                f"vqlab: warning: {key}={size} (dim {dim}): the codebook and its optimizer state "
                f"take {state_bytes / 2**30:.1f} GB and every batch searches all {size} codes: "
                "expect slow steps or running out of memory",
                file=sys.stderr,
            )
