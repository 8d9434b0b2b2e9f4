"""Check ``ckpt_path`` before a run starts from it: readable, and fitting the composed model.

Lightning would load the checkpoint after the run directory exists and report a file it cannot
read, or weights that do not fit, as a long traceback. Here both become one line before Hydra
writes anything: the file and why it cannot be read, or the model the command composes and the
config the checkpoint was trained with (its run's ``.hydra/config.yaml``).
"""

from __future__ import annotations

from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from vqlab.cli.run_dir import checkpoint_run
from vqlab.errors import CheckpointMismatchError
from vqlab.runs.loading import mismatch, read_checkpoint


def model_summary(model: DictConfig) -> str:
    """``VQVAE with EMAQuantizer``: the model's class and its quantizer's, from a ``model`` node."""
    name = str(model.get("_target_", "?")).rsplit(".", 1)[-1]
    quantizer = model.get("quantizer")
    if isinstance(quantizer, DictConfig) and "_target_" in quantizer:
        name += " with " + str(quantizer._target_).rsplit(".", 1)[-1]
    return name


def trained_with(checkpoint: Path) -> str:
    """Where the checkpoint's own config is and what it builds, or that it has none."""
    run = checkpoint_run(checkpoint)
    saved = run / ".hydra" / "config.yaml" if run is not None else None
    if saved is None or not saved.is_file():
        return "its training config is unknown (it is not in a run directory)"
    return f"it was trained as {model_summary(OmegaConf.load(saved).model)} ({saved})"


def check_checkpoint(cfg: DictConfig) -> None:
    """Refuse, in one line, a ``ckpt_path`` that cannot be read or does not fit ``cfg.model``."""
    path = cfg.get("ckpt_path")
    if not path:
        return
    state = read_checkpoint(path)["state_dict"]
    reason = mismatch(instantiate(cfg.model), state)
    if reason is not None:
        raise CheckpointMismatchError(
            f"checkpoint {path} does not fit the model this command composes "
            f"({model_summary(cfg.model)}: {reason}); {trained_with(Path(path))}: resume with "
            "that config (ckpt_path=<run>/checkpoints/... composes its run's overrides) or undo "
            "the overrides that change the model"
        )
