"""OmegaConf resolvers that vqlab's configs use; registered on import of ``vqlab.train``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf


def sweep_group() -> str | None:
    """The multirun's directory name (its jobs form one W&B group), or None for a single run."""
    if not HydraConfig.initialized():
        return None
    hydra_config = HydraConfig.get()
    if hydra_config.mode != RunMode.MULTIRUN:
        return None
    return Path(hydra_config.sweep.dir).name


def task_overrides() -> list[str]:
    """The job's command-line overrides (``key=value``), or [] outside a Hydra run."""
    if not HydraConfig.initialized():
        return []
    return list(HydraConfig.get().overrides.task)


def model_choice() -> str | None:
    """The chosen ``model`` config (``vqvae_ema``, ``cae``...), or None outside a Hydra run."""
    if not HydraConfig.initialized():
        return None
    return HydraConfig.get().runtime.choices.get("model")


def numel(shape: Sequence[int]) -> int:
    """Number of elements of a tensor of ``shape``: ``${vqlab.numel:${input_shape}}`` -> D."""
    return math.prod(int(size) for size in shape)


def register_resolvers() -> None:
    """Register ``${vqlab.sweep_group:}``, ``${vqlab.task_overrides:}``,
    ``${vqlab.model_choice:}`` and ``${vqlab.numel:...}``; safe to call again."""
    OmegaConf.register_new_resolver("vqlab.sweep_group", sweep_group, replace=True)
    OmegaConf.register_new_resolver("vqlab.task_overrides", task_overrides, replace=True)
    OmegaConf.register_new_resolver("vqlab.model_choice", model_choice, replace=True)
    OmegaConf.register_new_resolver("vqlab.numel", numel, replace=True)
