"""Send an image to every logger that shows images, and to a PNG in the run directory.

Images travel as 8-bit RGB: ``wandb.Image`` casts a float array with ``astype(uint8)``, which
turns every value in [0, 1] into 0 or 1 (a black picture), so vqlab converts first
(``round(255 * clamp(x, 0, 1))``) and hands W&B a PIL image it stores as it is. Small images (an
8x8-digit grid is 162 x 22 pixels) are enlarged by an integer factor with nearest-neighbour
sampling, so each pixel stays a sharp square and a grid is readable at a glance.
"""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

MIN_SIDE = 128  # enlarge until the short side has at least this many pixels ...
MAX_SIDE = 2048  # ... without the long side passing this


def figure_to_image(figure: Figure) -> torch.Tensor:
    """Render a matplotlib figure (on an Agg canvas) to a (3, H, W) float tensor in [0, 1]."""
    figure.canvas.draw()
    rgba = np.asarray(figure.canvas.buffer_rgba())  # (H, W, 4) uint8
    return torch.from_numpy(rgba[..., :3].copy()).permute(2, 0, 1).float() / 255.0


def upscale_factor(height: int, width: int) -> int:
    """``k = max(1, min(ceil(MIN_SIDE / min(h, w)), MAX_SIDE // max(h, w)))``."""
    return max(1, min(math.ceil(MIN_SIDE / min(height, width)), MAX_SIDE // max(height, width)))


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) float in [0, 1] (C = 1 or 3) -> (kH, kW, 3) uint8, enlarged by ``upscale_factor``.

    ``round(255 * clamp(x, 0, 1))``; nearest-neighbour enlargement repeats each pixel k x k times.
    """
    image = image.detach().float().cpu().clamp(0, 1)
    if image.shape[0] == 1:
        image = image.expand(3, -1, -1)
    factor = upscale_factor(image.shape[1], image.shape[2])
    image = image.repeat_interleave(factor, dim=1).repeat_interleave(factor, dim=2)
    return image.mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()  # (kH, kW, 3)


def figure_name(trainer: L.Trainer) -> str:
    """``epoch_003_step_000460``: a figure's file name, one per validation (several validations
    in an epoch, ``trainer.val_check_interval``, do not overwrite each other)."""
    return f"epoch_{trainer.current_epoch:03d}_step_{trainer.global_step:06d}"


def label_rows(pixels: np.ndarray, labels: list[str]) -> np.ndarray:
    """``pixels`` (H, W, 3) uint8 with a white left margin naming each of its equal-height rows."""
    margin = 8 + 6 * max(map(len, labels))  # PIL's default bitmap font: ~6 pixels a character
    picture = Image.new("RGB", (pixels.shape[1] + margin, pixels.shape[0]), "white")
    picture.paste(Image.fromarray(pixels), (margin, 0))
    draw, row_height = ImageDraw.Draw(picture), pixels.shape[0] / len(labels)
    for row, label in enumerate(labels):
        draw.text((4, int((row + 0.5) * row_height) - 5), label, fill="black")
    return np.asarray(picture)


def log_image(
    trainer: L.Trainer,
    key: str,
    image: torch.Tensor,
    png_path: str,
    row_labels: list[str] | None = None,
) -> None:
    """Log ``image`` (C, H, W) in [0, 1] as ``key`` to W&B and TensorBoard, and save it as PNG.

    All three get the same 8-bit, enlarged picture, with ``row_labels`` (one per row of a grid)
    written in a left margin. ``png_path`` is relative to ``trainer.default_root_dir``; only the
    global-zero rank writes (under DDP the other ranks return at once).
    """
    if not trainer.is_global_zero:
        return
    pixels = to_uint8(image)
    if row_labels:
        pixels = label_rows(pixels, row_labels)
    picture = Image.fromarray(pixels)
    path = Path(trainer.default_root_dir) / png_path
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path)
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            logger.log_image(key, [picture], step=trainer.global_step)
        elif isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(key, pixels, trainer.global_step, dataformats="HWC")
