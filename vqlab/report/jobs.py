"""The jobs of a finished multirun and the final value of every metric each one logged.

A job is a folder ``<multirun dir>/<n>/`` written by Hydra: its overrides
(``.hydra/overrides.yaml``), its model choice and the sweeper's direction (``.hydra/hydra.yaml``)
and ``optimized_metric`` (``.hydra/config.yaml``); its metrics come from the CSV log
(``csv/version_*/metrics.csv``) or else from the W&B offline run
(``wandb/offline-run-*/run-*.wandb``): the last logged value of each. A job whose training
diverged holds ``FAILED`` (its reason). Any sweeper's folder reads the same: Hydra's basic sweeper
also writes ``multirun.yaml``, Optuna's does not.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

from vqlab.cli.sweep_metric import FAILED
from vqlab.errors import RunDirectoryError
from vqlab.report.offline_runs import metric_history


@dataclass
class Job:
    """One job of the multirun: its directory, overrides, model, final metrics and status."""

    directory: Path
    overrides: dict[str, str]
    model: str
    metrics: dict[str, float] = field(default_factory=dict)
    status: str = "ok"  # or "failed: <reason>" (a diverged job)


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
    failed = directory / FAILED
    status = f"failed: {failed.read_text().strip()}" if failed.is_file() else "ok"
    return Job(directory, parsed, model, final_metrics(directory), status)


def sweep_direction(job: Path) -> str:
    """``minimize`` or ``maximize``: the sweeper's direction in the job's ``.hydra/hydra.yaml``
    (Optuna's may be a list, one per objective: the first), else ``minimize``."""
    hydra_file = job / ".hydra" / "hydra.yaml"
    sweeper = OmegaConf.load(hydra_file).hydra.get("sweeper") if hydra_file.is_file() else None
    direction = (sweeper or {}).get("direction", "minimize")
    if not isinstance(direction, str):
        direction = direction[0] if len(direction) else "minimize"
    return str(direction).lower()


def read_multirun(sweep_dir: Path) -> tuple[list[Job], str, str]:
    """Jobs (by job number), ``optimized_metric`` and the direction (minimize | maximize)."""
    sweep_dir = Path(sweep_dir)
    job_dirs = (
        [
            d
            for d in sweep_dir.iterdir()
            if d.name.isdigit() and (d / ".hydra" / "overrides.yaml").is_file()
        ]
        if sweep_dir.is_dir()
        else []
    )
    if not job_dirs:
        raise RunDirectoryError(
            f"{sweep_dir} is not a multirun directory (it needs job folders <n>/.hydra/): pass "
            "the folder a `python -m vqlab.train -m ...` sweep wrote, logs/train/multiruns/<time>"
        )
    jobs = [read_job(d) for d in sorted(job_dirs, key=lambda d: int(d.name))]
    config = OmegaConf.load(jobs[0].directory / ".hydra" / "config.yaml")
    metric = str(config.get("optimized_metric") or "val/recon_mse")
    return jobs, metric, sweep_direction(jobs[0].directory)


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
