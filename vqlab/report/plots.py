"""The plots of a sweep report (``vqlab.report``): matplotlib on an Agg canvas, no display."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from vqlab.report.jobs import Job

PERPLEXITY_KEYS = ("val/perplexity", "test/perplexity", "codebook/perplexity")
RECON_KEYS = ("val/recon_mse", "test/recon_mse", "train/recon_mse")


def first_present(metrics: dict[str, float], keys: tuple[str, ...]) -> str | None:
    """The first of ``keys`` that the job logged."""
    return next((key for key in keys if key in metrics), None)


def perplexity_vs_recon_figure(jobs: list[Job], sweep_dir: Path) -> Path | None:
    """Scatter of perplexity (x) against reconstruction MSE (y), one colour per model.

    Saved as ``report_perplexity_vs_recon.png``; None when no job logged both (e.g. only CAE jobs).
    """
    figure = Figure(figsize=(5, 4))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels = set()
    for model in sorted({job.model for job in jobs}):
        points = []
        for job in (job for job in jobs if job.model == model):
            x_key = first_present(job.metrics, PERPLEXITY_KEYS)
            y_key = first_present(job.metrics, RECON_KEYS)
            if x_key and y_key:
                points.append((job.metrics[x_key], job.metrics[y_key]))
                labels.add((x_key, y_key))
        if points:
            axes.scatter(*zip(*points, strict=True), label=model)
    if not labels:
        return None
    x_key, y_key = sorted(labels)[0]
    axes.set(xlabel=x_key, ylabel=y_key, title="perplexity vs reconstruction")
    axes.legend(fontsize="small")
    figure.tight_layout()
    path = Path(sweep_dir) / "report_perplexity_vs_recon.png"
    figure.savefig(path)
    return path


def as_number(value: str) -> float:
    """``float(value)``, NaN for a value that is not a number (a config choice)."""
    try:
        return float(value)
    except ValueError:
        return math.nan


def metric_vs_params_figure(jobs: list[Job], keys: list[str], metric: str, sweep_dir: Path) -> Path:
    """One panel per swept key: the optimised metric against the key's value.

    Numeric values on a numeric axis (logarithmic when they span more than a factor 20),
    choices as categories. Saved as ``report_<metric>_vs_params.png``.
    """
    keys = keys or ["job"]
    figure = Figure(figsize=(4 * len(keys), 3.5))
    FigureCanvasAgg(figure)
    for number, key in enumerate(keys, start=1):
        axes = figure.add_subplot(1, len(keys), number)
        pairs = [
            (
                job.directory.name if key == "job" else job.overrides.get(key, ""),
                job.metrics[metric],
            )
            for job in jobs
            if metric in job.metrics
        ]
        values = [as_number(value) for value, _ in pairs]
        if pairs and not any(math.isnan(v) for v in values):
            axes.scatter(values, [y for _, y in pairs])
            positive = [v for v in values if v > 0]
            if len(positive) == len(values) and max(positive) > 20 * min(positive):
                axes.set_xscale("log")
        elif pairs:
            axes.scatter([value for value, _ in pairs], [y for _, y in pairs])
        axes.set(xlabel=key, ylabel=metric)
    figure.tight_layout()
    path = Path(sweep_dir) / f"report_{metric.replace('/', '_')}_vs_params.png"
    figure.savefig(path)
    return path
