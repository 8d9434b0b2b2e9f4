"""Rebuild a trained model from its run directory: ``vqlab.load_run(run_dir, checkpoint="best")``.

A run directory (``logs/train/runs/<time>/`` or one job of a multirun) holds the composed Hydra
config (``.hydra/config.yaml``) and the checkpoints (``checkpoints/last.ckpt``, ``best_*.ckpt``).
The model is instantiated from the config's ``model`` node, exactly as training built it, and the
checkpoint's weights are loaded into it strictly: a checkpoint that does not fit the config is an
error naming both, not a half-loaded model. Opening a run runs no code from it unless
``trust=True`` (``vqlab.runs.trust``: an allow-list of ``_target_``s, ``weights_only=True``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from vqlab.config.resolvers import register_resolvers
from vqlab.errors import (
    CheckpointFileError,
    CheckpointMismatchError,
    RunDirectoryError,
    UntrustedRunError,
)
from vqlab.runs.trust import checked_node, load_checkpoint

CHECKPOINTS = ("best", "last")


def load_run_config(run_dir: str | Path) -> DictConfig:
    """The run's composed config, ``<run_dir>/.hydra/config.yaml`` (interpolations unresolved)."""
    path = Path(run_dir) / ".hydra" / "config.yaml"
    if not path.is_file():
        raise RunDirectoryError(
            f"{run_dir} is not a vqlab run directory: it has no .hydra/config.yaml; pass the "
            "directory a training run wrote (logs/train/runs/<time> or <multirun>/<job number>)"
        )
    register_resolvers()
    return OmegaConf.load(path)


def checkpoint_path(run_dir: str | Path, checkpoint: str | Path = "best") -> Path:
    """``"best"`` (the ``best_*.ckpt`` the checkpoint callback kept), ``"last"`` or a file path."""
    directory = Path(run_dir) / "checkpoints"
    if checkpoint == "last":
        candidates = [directory / "last.ckpt"]
    elif checkpoint == "best":
        candidates = sorted(directory.glob("best_*.ckpt"))[-1:]
    else:
        candidates = [Path(checkpoint)]
    if not candidates or not candidates[0].is_file():
        raise RunDirectoryError(
            f"no {checkpoint} checkpoint in {directory}: choose checkpoint= one of "
            f"{', '.join(CHECKPOINTS)} or a .ckpt file that exists"
        )
    return candidates[0]


def build_model(config: DictConfig, trust: bool = False) -> L.LightningModule:
    """Instantiate the config's ``model`` node (``${input_shape}`` etc. resolved in ``config``);
    its ``_target_``s must be on the allow-list unless ``trust``."""
    return instantiate(checked_node(config.model, "the run's model config", trust))


def read_checkpoint(path: str | Path, trust: bool = False) -> dict[str, Any]:
    """The checkpoint at ``path`` (on the CPU, ``load_checkpoint``: tensors and plain values only
    unless ``trust``); a missing, truncated or foreign file is one line."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointFileError(f"checkpoint {path} does not exist: pass an existing .ckpt file")
    try:
        checkpoint = load_checkpoint(path, trust)
    except UntrustedRunError:
        raise
    except Exception as error:  # torch raises several types for a damaged or foreign file
        raise CheckpointFileError(
            f"checkpoint {path} cannot be read ({type(error).__name__}: "
            f"{' '.join(str(error).split())[:120]}): it is truncated or not a checkpoint; pass a "
            ".ckpt file a training run wrote (<run>/checkpoints/last.ckpt)"
        ) from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointFileError(
            f"{path} is not a Lightning checkpoint (no state_dict): pass a .ckpt file a training "
            "run wrote (<run>/checkpoints/last.ckpt)"
        )
    return checkpoint


def mismatch(model: L.LightningModule, state: dict[str, Any]) -> str | None:
    """Why ``state`` does not load strictly into ``model`` (its first reason), or None."""
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        lines = str(error).splitlines()[1:]
        return next((line.strip() for line in lines if line.strip()), str(error))
    return None


def load_weights(model: L.LightningModule, path: Path, trust: bool = False) -> None:
    """Load the checkpoint's ``state_dict`` into ``model``, strictly, on the model's device
    (tensors and plain values only unless ``trust``)."""
    reason = mismatch(model, read_checkpoint(path, trust)["state_dict"])
    if reason is not None:
        raise CheckpointMismatchError(
            f"checkpoint {path} does not match the model of its run's config ({reason}): load it "
            "with the config it was trained with"
        )


def load_run(
    run_dir: str | Path,
    checkpoint: str | Path = "best",
    device: str | torch.device = "cpu",
    trust: bool = False,
) -> L.LightningModule:
    """The trained model of ``run_dir``, in eval mode on ``device``.

    ``checkpoint`` is ``"best"`` (lowest monitored metric), ``"last"`` or a path to a ``.ckpt``.
    ``trust=True``: the run's author is trusted, so its config may name any class and its
    checkpoint hold any pickled object (both run code); by default neither is allowed.
    """
    model = build_model(load_run_config(run_dir), trust)
    load_weights(model, checkpoint_path(run_dir, checkpoint), trust)
    return model.to(device).eval()
