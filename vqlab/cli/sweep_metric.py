"""The number a sweeper optimises: ``optimized_metric`` from a finished run's metrics.

Hydra's sweepers take the task function's return value; Optuna needs a float. A run in which
``optimized_metric`` was never logged (``trainer.limit_val_batches=0``, a typo in the name) ends
with one line naming ``optimized_metric`` and the metrics that were logged, instead of returning
``None`` and failing inside the sweeper with "Return value must be float-castable".
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from vqlab.errors import MetricNotFoundError


def optimized_value(metrics: Mapping[str, torch.Tensor | float], name: str | None) -> float | None:
    """``float(metrics[name])``; ``None`` when ``name`` is ``None`` (nothing to optimise).

    ``metrics`` are the last values Lightning holds for every logged key (fit's, then test's).
    Raises ``MetricNotFoundError`` when ``name`` is not among them.
    """
    if name is None:
        return None
    if name not in metrics:
        logged = ", ".join(sorted(metrics)) or "none (did training run?)"
        raise MetricNotFoundError(
            f"optimized_metric={name} was never logged by this run (a validation metric needs "
            f"a validation epoch: check trainer.limit_val_batches); logged: {logged}; choose "
            "one: optimized_metric=<name>"
        )
    value = metrics[name]
    return float(value.item()) if isinstance(value, torch.Tensor) else float(value)
