"""Pictures of a learnable feature-to-category assignment: a heat map and per-category masks.

For every ``SoftAssignment`` of the model, with ``P = probabilities()`` (D, K):

- ``assign/probabilities``: a heat map of ``P``, features (rows) sorted by their hard category
  ``argmax_k P_dk`` and, inside a category, by decreasing ``max_k P_dk``; a line between
  categories. A learned grouping is a staircase of bright blocks; an undecided one is grey.
- ``assign/masks`` (when ``mask_shape`` has at least two dimensions, e.g. the ``(1, 28, 28)`` of
  MNIST): column k of ``P`` reshaped to the image, one tile per category, side by side with a
  one-pixel grey separator, so each category's pixels read as a mask (white = ``P_dk = 1``).

Both go to W&B / TensorBoard and to ``<run dir>/assignment_heatmap/epoch_XXX.png`` and
``<run dir>/assignment_masks/epoch_XXX.png`` (``..._<i>`` suffixes for several assignments),
every ``every_n_epochs`` training epochs and once more when training ends. Only the global-zero
rank draws (the assignment is identical on every rank).
"""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import Tensor

from vqlab.callbacks.image_logging import figure_to_image, log_image
from vqlab.errors import ConfigValueError, check_positive
from vqlab.quantizers import SoftAssignment


def feature_order(probabilities: Tensor) -> Tensor:
    """Row order (D,): by hard category, then by decreasing max probability inside it."""
    confidence, category = probabilities.max(-1)
    # one sort key: category first; confidence in [0, 1] breaks ties inside a category
    return torch.argsort(category.double() * 2.0 - confidence.double(), stable=True)


def heatmap_figure(probabilities: Tensor, title: str) -> Figure:
    """The ordered (D, K) heat map with category boundaries, as a matplotlib figure."""
    order = feature_order(probabilities)
    ordered = probabilities[order].numpy()
    counts = torch.bincount(probabilities.argmax(-1), minlength=probabilities.shape[1])
    figure = Figure(figsize=(3.0 + 0.3 * probabilities.shape[1], 6.0))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    shown = axes.imshow(ordered, aspect="auto", interpolation="nearest", vmin=0.0, vmax=1.0)
    for boundary in counts.cumsum(0)[:-1].tolist():
        axes.axhline(boundary - 0.5, color="white", linewidth=0.8)
    axes.set(xlabel="category", ylabel="feature (ordered by hard category)", title=title)
    axes.set_xticks(range(probabilities.shape[1]))
    figure.colorbar(shown, ax=axes, label="P (feature -> category)")
    figure.tight_layout()
    return figure


def category_masks(probabilities: Tensor, image_shape: Sequence[int]) -> Tensor:
    """(D, K) -> (1, H, K (W + 1) - 1): column k as an H x W tile, grey one-pixel separators.

    ``image_shape`` is ``(..., H, W)`` with ``prod == D`` (leading channels are averaged).
    """
    height, width = int(image_shape[-2]), int(image_shape[-1])
    tiles = probabilities.t().reshape(probabilities.shape[1], -1, height, width).mean(1)
    separator = torch.full((height, 1), 0.5)
    pieces = []
    for index, tile in enumerate(tiles):
        if index:
            pieces.append(separator)
        pieces.append(tile)
    return torch.cat(pieces, 1).unsqueeze(0)


class AssignmentImages(L.Callback):
    """Log the assignment heat map (and masks) every ``every_n_epochs`` epochs and at the end."""

    def __init__(self, every_n_epochs: int = 5, mask_shape: Sequence[int] | None = None) -> None:
        check_positive("every_n_epochs", every_n_epochs)
        self.every_n_epochs = int(every_n_epochs)
        self.mask_shape = None
        if mask_shape is not None and len(mask_shape) >= 2:
            self.mask_shape = [int(size) for size in mask_shape]

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.mask_shape is None:
            return
        pixels = 1
        for size in self.mask_shape:
            pixels *= size
        for assignment in self.assignments(pl_module):
            if assignment.num_features != pixels:
                raise ConfigValueError(
                    "callbacks.assignment_images.mask_shape",
                    f"a shape of {assignment.num_features} features",
                    self.mask_shape,
                )

    @staticmethod
    def assignments(pl_module: L.LightningModule) -> list[SoftAssignment]:
        return [m for m in pl_module.modules() if isinstance(m, SoftAssignment)]

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self.draw(trainer, pl_module, f"epoch_{trainer.current_epoch:03d}")

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.draw(trainer, pl_module, "final")

    def draw(self, trainer: L.Trainer, pl_module: L.LightningModule, name: str) -> None:
        """Draw and log every assignment's pictures under the file stem ``name``."""
        if not trainer.is_global_zero:
            return
        assignments = self.assignments(pl_module)
        for number, assignment in enumerate(assignments):
            suffix = f"_{number}" if len(assignments) > 1 else ""
            with torch.no_grad():
                probabilities = assignment.probabilities().detach().float().cpu()
            title = f"epoch {trainer.current_epoch}, T = {float(assignment.temperature):.3g}"
            figure = heatmap_figure(probabilities, title)
            log_image(
                trainer,
                f"assign/probabilities{suffix}",
                figure_to_image(figure),
                f"assignment_heatmap{suffix}/{name}.png",
            )
            if self.mask_shape is not None:
                masks = category_masks(probabilities, self.mask_shape)
                log_image(
                    trainer, f"assign/masks{suffix}", masks, f"assignment_masks{suffix}/{name}.png"
                )
