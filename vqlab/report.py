"""Summarise a finished multirun: ``python -m vqlab.report <multirun dir>`` (no network).

For every job directory (``<multirun dir>/<n>/``) it reads the overrides
(``.hydra/overrides.yaml``), the model choice and ``optimized_metric`` (``.hydra/hydra.yaml``,
``.hydra/config.yaml``), and the final value of every metric: the last logged value, from the CSV
log (``csv/version_*/metrics.csv``) or else from the W&B offline run
(``wandb/offline-run-*/run-*.wandb``). It writes

- ``<multirun dir>/report.md``: one row per job, the swept keys (overrides that differ between
  jobs) as columns, then the metrics, sorted by ``optimized_metric`` (best first; the sweeper's
  ``direction`` when it has one, else minimise); jobs without that metric come last;
- ``<multirun dir>/report_perplexity_vs_recon.png``: perplexity against reconstruction MSE, one
  colour per model;
- ``<multirun dir>/report_<metric>_vs_params.png``: the optimised metric against each swept key;

and prints the table with rich.
"""

from __future__ import annotations

import argparse
import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf
from rich.console import Console
from rich.table import Table

from vqlab.cli_errors import one_line_errors
from vqlab.errors import RunDirectoryError
from vqlab.report_plots import metric_vs_params_figure, perplexity_vs_recon_figure
from vqlab.wandb_offline import metric_history

METRIC_COLUMNS = (
    "val/recon_mse",
    "test/recon_mse",
    "val/perplexity",
    "codebook/perplexity",
    "codebook/usage",
    "test/perplexity",
)


@dataclass
class Job:
    """One job of the multirun: its directory, overrides, model, and final metrics."""

    directory: Path
    overrides: dict[str, str]
    model: str
    metrics: dict[str, float] = field(default_factory=dict)


def final_metrics_from_csv(path: Path) -> dict[str, float]:
    """The last non-empty value of every column of a Lightning ``metrics.csv``."""
    final: dict[str, float] = {}
    with path.open() as handle:
        for row in csv.DictReader(handle):
            final.update({key: float(value) for key, value in row.items() if value})
    return final


def final_metrics(directory: Path) -> dict[str, float]:
    """The job's last logged metric values: CSV log first, W&B offline run otherwise."""
    for path in sorted(directory.glob("csv/version_*/metrics.csv"))[-1:]:
        return final_metrics_from_csv(path)
    for path in sorted(directory.glob("wandb/offline-run-*/run-*.wandb"))[-1:]:
        history = metric_history(path)
        return {
            key: float(values[-1])
            for key, values in history.items()
            if values and isinstance(values[-1], int | float)
        }
    return {}


def read_job(directory: Path) -> Job:
    """A job from its directory (``.hydra/`` written by Hydra, logs by the loggers)."""
    overrides = OmegaConf.load(directory / ".hydra" / "overrides.yaml")
    parsed = dict(override.lstrip("+~").partition("=")[::2] for override in overrides)
    hydra_file = directory / ".hydra" / "hydra.yaml"
    model = "?"
    if hydra_file.is_file():
        model = OmegaConf.load(hydra_file).hydra.runtime.choices.get("model", "?")
    return Job(directory, parsed, model, final_metrics(directory))


def read_multirun(sweep_dir: Path) -> tuple[list[Job], str, str]:
    """Jobs (by job number), ``optimized_metric`` and the direction (minimize | maximize)."""
    sweep_dir = Path(sweep_dir)
    job_dirs = [d for d in sweep_dir.iterdir() if (d / ".hydra" / "overrides.yaml").is_file()]
    if not (sweep_dir / "multirun.yaml").is_file() or not job_dirs:
        raise RunDirectoryError(
            f"{sweep_dir} is not a multirun directory (it needs multirun.yaml and job folders "
            "<n>/.hydra/): pass the folder a `python -m vqlab.train -m ...` sweep wrote, "
            "logs/train/multiruns/<time>"
        )
    jobs = [read_job(d) for d in sorted(job_dirs, key=lambda d: (len(d.name), d.name))]
    config = OmegaConf.load(jobs[0].directory / ".hydra" / "config.yaml")
    metric = str(config.get("optimized_metric") or "val/recon_mse")
    sweeper = OmegaConf.load(sweep_dir / "multirun.yaml").hydra.sweeper
    direction = str(sweeper.get("direction", "minimize"))
    return jobs, metric, direction


def swept_keys(jobs: list[Job]) -> list[str]:
    """Override keys whose value differs between jobs (all override keys for a single job)."""
    keys = list(dict.fromkeys(key for job in jobs for key in job.overrides))
    if len(jobs) == 1:
        return keys
    return [key for key in keys if len({job.overrides.get(key) for job in jobs}) > 1]


def sort_jobs(jobs: list[Job], metric: str, direction: str) -> list[Job]:
    """Best ``metric`` first; jobs without it (or NaN) last."""
    sign = -1.0 if direction == "maximize" else 1.0

    def key(job: Job) -> tuple[bool, float]:
        value = job.metrics.get(metric, math.nan)
        return (math.isnan(value), sign * value if not math.isnan(value) else 0.0)

    return sorted(jobs, key=key)


def table_rows(jobs: list[Job], keys: list[str], metrics: list[str]) -> list[list[str]]:
    """``[job, model, *swept values, *metric values]`` per job, as text."""
    rows = []
    for job in jobs:
        values = [f"{job.metrics[m]:.4g}" if m in job.metrics else "-" for m in metrics]
        rows.append(
            [job.directory.name, job.model, *(job.overrides.get(k, "") for k in keys), *values]
        )
    return rows


def write_report(sweep_dir: Path, console: Console | None = None) -> Path:
    """Write report.md and the plots into ``sweep_dir``; print the table; return report.md."""
    jobs, metric, direction = read_multirun(sweep_dir)
    jobs = sort_jobs(jobs, metric, direction)
    keys = swept_keys(jobs)
    present = {name for job in jobs for name in job.metrics}
    metrics = [metric, *(m for m in METRIC_COLUMNS if m in present and m != metric)]
    header = ["job", "model", *keys, *metrics]
    rows = table_rows(jobs, keys, metrics)

    plots = [
        perplexity_vs_recon_figure(jobs, sweep_dir),
        metric_vs_params_figure(jobs, keys, metric, sweep_dir),
    ]
    lines = [
        f"# Sweep report: {Path(sweep_dir).name}",
        "",
        f"{len(jobs)} jobs, sorted by `{metric}` ({direction}).",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
        *(f"![{path.stem}]({path.name})" for path in plots if path is not None),
        "",
    ]
    report = Path(sweep_dir) / "report.md"
    report.write_text("\n".join(lines))

    table = Table(title=f"{Path(sweep_dir).name}: sorted by {metric} ({direction})")
    for column in header:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    (console or Console()).print(table)
    return report


def main(arguments: list[str] | None = None) -> None:
    """``python -m vqlab.report <multirun dir>``."""
    parser = argparse.ArgumentParser(
        prog="python -m vqlab.report", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "sweep_dir", type=Path, help="a multirun directory (logs/train/multiruns/<time>)"
    )
    with one_line_errors():
        path = write_report(parser.parse_args(arguments).sweep_dir)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
