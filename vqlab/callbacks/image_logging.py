"""Send an image to every logger that shows images, and to a PNG in the run directory."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from matplotlib.figure import Figure
from torchvision.utils import save_image


def figure_to_image(figure: Figure) -> torch.Tensor:
    """Render a matplotlib figure (on an Agg canvas) to a (3, H, W) float tensor in [0, 1]."""
    figure.canvas.draw()
    rgba = np.asarray(figure.canvas.buffer_rgba())  # (H, W, 4) uint8
    return torch.from_numpy(rgba[..., :3].copy()).permute(2, 0, 1).float() / 255.0


def log_image(trainer: L.Trainer, key: str, image: torch.Tensor, png_path: str) -> None:
    """Log ``image`` (3, H, W) in [0, 1] as ``key`` to W&B and TensorBoard, and save it as PNG.

    ``png_path`` is relative to ``trainer.default_root_dir``; only the global-zero rank writes.
    """
    if not trainer.is_global_zero:
        return
    path = Path(trainer.default_root_dir) / png_path
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(image, path)
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            logger.log_image(key, [image], step=trainer.global_step)
        elif isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(key, image, trainer.global_step)
