"""Persistence-diagram figure (H0 and H1 in one plot, with the diagonal) for W&B logging."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import Tensor


def persistence_diagram_figure(h0: Tensor, h1: Tensor, title: str | None = None) -> Figure:
    """Scatter of (birth, death) for the H0 and H1 bars, with the diagonal death = birth.

    Built on an Agg canvas without pyplot, so it needs no display and leaks no global figure;
    pass it to ``wandb.Image(figure)`` or ``figure.savefig(path)``.
    """
    h0, h1 = h0.detach().cpu().float(), h1.detach().cpu().float()
    figure = Figure(figsize=(4, 4))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.scatter(h0[:, 0], h0[:, 1], s=8, label=f"H0 ({h0.shape[0]})")
    axes.scatter(h1[:, 0], h1[:, 1], s=8, marker="^", label=f"H1 ({h1.shape[0]})")
    top = max(float(h0[:, 1].max()) if h0.numel() else 0.0, float(h1.max()) if h1.numel() else 0.0)
    top = top * 1.05 if top > 0 else 1.0
    axes.plot([0, top], [0, top], color="gray", linewidth=0.8, linestyle="--")
    axes.set(xlim=(0, top), ylim=(0, top), xlabel="birth", ylabel="death", aspect="equal")
    axes.legend(loc="lower right")
    if title is not None:
        axes.set_title(title)
    figure.tight_layout()
    return figure
