"""The sweep report: ``python -m vqlab.report <multirun dir>`` (no network).

For every job directory (``<multirun dir>/<n>/``) it reads the overrides
(``.hydra/overrides.yaml``), the model choice and ``optimized_metric`` (``.hydra/hydra.yaml``,
``.hydra/config.yaml``), and the final value of every metric: the last logged value, from the CSV
log (``csv/version_*/metrics.csv``) or else from the W&B offline run
(``wandb/offline-run-*/run-*.wandb``). It writes

- ``<multirun dir>/report.md``: one row per job, its status (``ok``, or ``failed: diverged ...``),
  the swept keys (overrides that differ between jobs; ``model`` only once) as columns, then the
  metrics: ``optimized_metric``, test and validation recon MSE, code usage and perplexity (the
  collapse numbers; the training window's usage is left out: k-means init makes it 1.0 for
  every job), sorted by ``optimized_metric`` (best first; the sweeper's ``direction`` when it
  has one, else minimise); jobs without that metric come last;
- ``<multirun dir>/report_perplexity_vs_recon.png``: perplexity against reconstruction MSE, one
  colour per model;
- ``<multirun dir>/report_<metric>_vs_params.png``: the optimised metric against each swept key;

and prints the table with rich, fitted to an 80-column console: the last part of each swept key,
metric names split at ``/`` (``recon_mse`` as ``mse``, ``perplexity`` as ``ppl``), values to 3
significant digits.
"""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from vqlab.report.jobs import Job, read_multirun, sort_jobs, swept_keys
from vqlab.report.plots import metric_vs_params_figure, perplexity_vs_recon_figure

METRIC_COLUMNS = (
    "val/recon_mse",
    "test/recon_mse",
    "test/usage",
    "test/perplexity",
    "val/usage",
    "val/perplexity",
)

SHORT_METRIC_NAMES = {"recon_mse": "mse", "perplexity": "ppl"}


def table_rows(
    jobs: list[Job], keys: list[str], metrics: list[str], digits: int = 4
) -> list[list[str]]:
    """``[job, status, model, *swept values, *metric values]`` per job, as text."""
    rows = []
    for job in jobs:
        values = [f"{job.metrics[m]:.{digits}g}" if m in job.metrics else "-" for m in metrics]
        status = "ok" if job.status == "ok" else "failed"
        swept = [job.overrides.get(key, "") for key in keys]
        rows.append([job.directory.name, status, job.model, *swept, *values])
    return rows


def short_name(column: str) -> str:
    """A console header: ``val/recon_mse`` -> ``val`` over ``mse``; ``a.b.lr`` -> ``lr``."""
    if "/" not in column:
        return column.rsplit(".", 1)[-1]
    for long, short in SHORT_METRIC_NAMES.items():
        column = column.replace(long, short)
    return column.replace("/", "\n")


def console_table(title: str, header: list[str], rows: list[list[str]]) -> Table:
    """The report's table for a terminal: short two-line headers, no borders."""
    table = Table(title=title, box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False)
    for column in header:
        table.add_column(short_name(column), overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def write_report(sweep_dir: Path, console: Console | None = None) -> Path:
    """Write report.md and the plots into ``sweep_dir``; print the table; return report.md."""
    jobs, metric, direction = read_multirun(sweep_dir)
    jobs = sort_jobs(jobs, metric, direction)
    keys = [key for key in swept_keys(jobs) if key != "model"]  # the model column shows it
    present = {name for job in jobs for name in job.metrics}
    metrics = [metric, *(m for m in METRIC_COLUMNS if m in present and m != metric)]
    header = ["job", "status", "model", *keys, *metrics]
    rows = table_rows(jobs, keys, metrics)
    failures = [f"- job {job.directory.name}: {job.status}" for job in jobs if job.status != "ok"]

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
        *([*failures, ""] if failures else []),
        *(f"![{path.stem}]({path.name})" for path in plots if path is not None),
        "",
    ]
    report = Path(sweep_dir) / "report.md"
    report.write_text("\n".join(lines))

    title = f"{Path(sweep_dir).name}: sorted by {metric} ({direction})"
    (console or Console()).print(console_table(title, header, table_rows(jobs, keys, metrics, 3)))
    return report
