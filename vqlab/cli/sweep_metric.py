"""The number a sweeper optimises: ``optimized_metric`` from a finished run's metrics.

Hydra's sweepers take the task function's return value; Optuna needs a float. Only a sweep needs
that metric: a single run that never logged it (it ended before its first validation:
``trainer.max_steps`` below an epoch, ``limit_val_batches=0``) succeeds with a one-line note. In a
sweep a missing metric ends with one line naming ``optimized_metric``, the metrics that were logged
and ``trainer.val_check_interval``, instead of failing inside the sweeper with "Return value must
be float-castable".

A sweep job whose training diverged (``NonFiniteLossError``) is an ordinary sweep outcome: the job
is marked failed (``<job>/FAILED``, read by ``python -m vqlab.report``), returns NaN (Optuna
records the trial as failed) and the sweep goes on with the next job.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path

import torch

from vqlab.errors import MetricNotFoundError, NonFiniteLossError

log = logging.getLogger("vqlab")
FAILED = "FAILED"  # the file that marks a failed sweep job; it holds the reason


def optimized_value(
    metrics: Mapping[str, torch.Tensor | float], name: str | None, sweeping: bool = False
) -> float | None:
    """``float(metrics[name])``; ``None`` when ``name`` is ``None`` (nothing to optimise).

    ``metrics`` are the last values Lightning holds for every logged key (fit's, then test's).
    When ``name`` is not among them: in a sweep (``sweeping``), ``MetricNotFoundError``; in a
    single run, a one-line note and ``None``.
    """
    if name is None:
        return None
    if name not in metrics:
        logged = ", ".join(sorted(metrics)) or "none (did training run?)"
        why = (
            f"optimized_metric={name} was never logged by this run (a validation metric needs a "
            "validation: the run ended before its first one; validate more often with "
            "trainer.val_check_interval=<steps>, or check trainer.limit_val_batches)"
        )
        if sweeping:
            raise MetricNotFoundError(
                f"{why}; logged: {logged}; choose one: optimized_metric=<name>"
            )
        log.info("note: %s; only a sweeper needs it", why)
        return None
    value = metrics[name]
    return float(value.item()) if isinstance(value, torch.Tensor) else float(value)


def failed_job(error: NonFiniteLossError, output_dir: Path) -> float:
    """Mark a diverged sweep job failed (``<job>/FAILED``); NaN for the sweeper."""
    reason = " ".join(str(error).split())
    (output_dir / FAILED).write_text(f"diverged: {reason}\n")
    log.error("vqlab: job failed, the sweep goes on: %s", reason)
    return math.nan
