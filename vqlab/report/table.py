"""The sweep report: ``python -m vqlab.report <multirun dir>`` (no network).

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

from pathlib import Path

from rich.console import Console
from rich.table import Table

from vqlab.report.jobs import Job, read_multirun, sort_jobs, swept_keys
from vqlab.report.plots import metric_vs_params_figure, perplexity_vs_recon_figure

METRIC_COLUMNS = (
    "val/recon_mse",
    "test/recon_mse",
    "val/perplexity",
    "codebook/perplexity",
    "codebook/usage",
    "test/perplexity",
)


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
