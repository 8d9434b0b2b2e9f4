"""Pictures of codebook health: sorted code-usage histogram and a PCA map of codes and encodings.

Every ``every_n_epochs`` validation epochs and in the last epoch (the final state), for every
``VectorQuantizer`` of the model:

- ``codebook/usage_histogram``: the validation epoch's code counts, sorted in decreasing order,
  as bars (a collapsed codebook is a few tall bars and a long flat tail of dead codes);
- ``codebook/pca``: the codes and up to ``max_points`` encoder outputs ``z_e`` projected on the
  first two principal components of the codes and encodings together (PCA by SVD of the centred
  points: ``X - mean = U S V^T``, coordinates ``(X - mean) V[:, :2]``; Pearson 1901). Used codes are
  dots coloured by log count (colour bar), dead codes crosses.

Each goes to W&B / TensorBoard and to ``<run dir>/codebook_usage/epoch_EEE_step_SSSSSS.png`` and
``<run dir>/codebook_pca/...`` (one file per validation); with several codebooks as
``codebook/<name>/usage_histogram`` and ``codebook_usage/<name>/...`` (names of
``vqlab.quantizers.naming``: ``top``, ``stage_1``, ...), titled with the name. Counts are summed
across DDP ranks; only the global-zero rank draws and writes.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import Tensor, nn

from vqlab.callbacks.codebooks import codebook_metric_name, codebook_quantizers
from vqlab.callbacks.image_logging import figure_name, figure_to_image, log_image
from vqlab.errors import check_positive
from vqlab.quantizers import QuantizerOutput


def principal_plane(points: Tensor) -> Tensor:
    """(n, d) points -> (n, 2) coordinates on their first two principal axes (zeros past d)."""
    centred = points - points.mean(0)
    _, _, basis = torch.linalg.svd(centred, full_matrices=False)  # basis: (min(n, d), d)
    coordinates = centred @ basis[:2].T
    return torch.nn.functional.pad(coordinates, (0, 2 - coordinates.shape[1]))


def usage_histogram_figure(counts: Tensor, title: str) -> Figure:
    """Bars of the code counts, most used first."""
    figure = Figure(figsize=(6, 3))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    ordered = counts.sort(descending=True).values.numpy()
    axes.bar(range(len(ordered)), ordered, width=1.0)
    used = int((counts > 0).sum())
    title = f"{title}: {used}/{len(counts)} used"
    axes.set(xlabel="code (sorted by use)", ylabel="count", title=title)
    figure.tight_layout()
    return figure


def pca_figure(codebook: Tensor, encodings: Tensor, counts: Tensor, title: str) -> Figure:
    """Scatter of encodings (grey) and codes (coloured by log count, dead codes as crosses)."""
    coordinates = principal_plane(torch.cat([codebook, encodings]).float())
    codes, points = coordinates[: len(codebook)], coordinates[len(codebook) :]
    figure = Figure(figsize=(5, 5))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.scatter(points[:, 0], points[:, 1], s=2, color="0.7", label="encoder outputs")
    used = counts > 0
    coloured = axes.scatter(
        codes[used, 0], codes[used, 1], s=14, c=counts[used].log1p(), label="used codes"
    )
    if used.any():
        figure.colorbar(coloured, ax=axes, label="log(1 + count)")
    dead = ~used
    axes.scatter(codes[dead, 0], codes[dead, 1], s=14, marker="x", color="red", label="dead codes")
    axes.set(xlabel="PC 1", ylabel="PC 2", title=title)
    axes.legend(loc="best", fontsize="small")
    figure.tight_layout()
    return figure


class CodebookFigures(L.Callback):
    """Log the figures above every ``every_n_epochs`` validation epochs (see the module docstring).

    Models without a ``VectorQuantizer`` (the concrete autoencoder) are left alone.
    """

    def __init__(self, every_n_epochs: int = 5, max_points: int = 2000) -> None:
        check_positive("every_n_epochs", every_n_epochs)
        check_positive("max_points", max_points)
        self.every_n_epochs = int(every_n_epochs)
        self.max_points = int(max_points)
        self.handles: list[Any] = []
        self.counts: dict[str, Tensor] = {}
        self.encodings: dict[str, list[Tensor]] = {}

    def active(self, trainer: L.Trainer) -> bool:
        """Whether this validation is one to draw: every ``every_n_epochs`` epochs and the last
        epoch (never the sanity check)."""
        last = trainer.max_epochs is not None and trainer.current_epoch >= trainer.max_epochs - 1
        every = trainer.current_epoch % self.every_n_epochs == 0
        return not trainer.sanity_checking and (every or last)

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.counts, self.encodings = {}, {}
        if not self.active(trainer):
            return
        for name, quantizer in codebook_quantizers(pl_module).items():
            self.handles.append(quantizer.register_forward_hook(self.recorder(name)))

    def recorder(self, name: str) -> Any:
        """A forward hook adding the batch's counts and (a sample of) its inputs to the record."""

        def hook(module: nn.Module, inputs: tuple[Tensor, ...], output: QuantizerOutput) -> None:
            counts = output.counts.detach().float()
            self.counts[name] = self.counts.get(name, 0) + counts
            kept = self.encodings.setdefault(name, [])
            room = self.max_points - sum(len(batch) for batch in kept)
            if room > 0:
                z_e = inputs[0].detach().reshape(-1, inputs[0].shape[-1])
                kept.append(z_e[:room].float().cpu())

        return hook

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []
        quantizers = codebook_quantizers(pl_module)
        names = list(quantizers)
        for codebook, counts in self.counts.items():
            total = trainer.strategy.reduce(counts, reduce_op="sum").cpu()  # every rank takes part
            if not trainer.is_global_zero:
                continue
            codes = quantizers[codebook].codebook.detach().float().cpu()
            encodings = torch.cat(self.encodings[codebook])
            label = codebook if len(names) > 1 else ""
            title = f"{label} codebook, " if label else ""
            title += f"epoch {trainer.current_epoch}, step {trainer.global_step}"
            figures = {
                "usage_histogram": usage_histogram_figure(total, title),
                "pca": pca_figure(codes, encodings, total, title),
            }
            folders = {"usage_histogram": "codebook_usage", "pca": "codebook_pca"}
            for name, figure in figures.items():
                folder = "/".join(filter(None, (folders[name], label)))
                png_path = f"{folder}/{figure_name(trainer)}.png"
                metric = codebook_metric_name(codebook, names, name)
                log_image(trainer, metric, figure_to_image(figure), png_path)
        self.counts, self.encodings = {}, {}
