"""A grid of inputs above their reconstructions, each validation epoch, for the dashboards."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torchvision.utils import make_grid

from vqlab.callbacks.image_logging import figure_name, log_image


class ReconstructionGrid(L.Callback):
    """Log ``num_images`` validation images (top row) and their reconstructions (bottom row).

    The first validation batch is kept; at the end of each validation the grid goes to W&B
    (``val/reconstructions``), TensorBoard, and
    ``<run dir>/reconstructions/epoch_EEE_step_SSSSSS.png`` (named by step too, so validations
    within an epoch, ``trainer.val_check_interval``, keep their own). Inputs that are not images
    (b, c, h, w) are skipped. Values are mapped from ``value_range`` (the data's,
    ``data.value_range``) to [0, 1] for display; each row is labelled. Subclasses change
    ``name``, ``row_labels`` and ``rows``.
    """

    name = "reconstructions"
    row_labels = ("input", "output")

    def __init__(self, num_images: int = 16, value_range: tuple[float, float] = (-1.0, 1.0)):
        self.num_images = num_images
        self.value_range = tuple(value_range)
        self.images: torch.Tensor | None = None

    def rows(self, pl_module: L.LightningModule, images: torch.Tensor) -> list[torch.Tensor]:
        """The grid's rows, each like ``images`` and in ``value_range``."""
        return [images, pl_module(images)[0]]

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if batch_idx == 0 and batch[0].ndim == 4:
            self.images = batch[0][: self.num_images].detach()

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.images is None or trainer.sanity_checking or not trainer.is_global_zero:
            return
        with torch.no_grad():
            rows = [row.float() for row in self.rows(pl_module, self.images)]
        low, high = self.value_range
        grid_values = torch.cat(rows).sub(low).div(high - low).clamp(0, 1).cpu()
        grid = make_grid(grid_values, nrow=len(self.images), pad_value=1.0)
        self.images = None
        png_path = f"{self.name}/{figure_name(trainer)}.png"
        log_image(trainer, f"val/{self.name}", grid, png_path, list(self.row_labels))
