"""A W&B logger whose runs are named, grouped and summarised for sweeps.

Lightning's ``WandbLogger`` plots every metric against ``trainer/global_step``; this subclass adds:

- ``summaries``: ``define_metric(name, step_metric="trainer/global_step", summary=ops)`` per
  metric, so a run's summary holds e.g. the best (``max``) and final (``last``) perplexity and the
  lowest (``min``) reconstruction error, which is what a sweep's table and parallel-coordinates
  panel compare;
- ``overrides`` (the job's command-line overrides, ``${hydra:overrides.task}``): stored in the run
  config as ``overrides: {key: value}`` (one column per swept key) and, when ``name`` is null,
  joined after the model's name into a readable run name (``vqvae_ste codebook_size=64``)
  instead of a random one.

``group`` (the sweep) and ``job_type`` (the model) are W&B's own ``wandb.init`` arguments.
W&B calls are made from the global-zero rank only (Lightning's ``rank_zero_experiment``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lightning.pytorch.utilities import rank_zero_only

from vqlab.loggers.wandb_logger import WandbLogger

STEP_METRIC = "trainer/global_step"
# overrides that say where a run writes, not what it trains: left out of the name
UNNAMED_PREFIXES = ("hydra.", "paths.", "logger", "ckpt_path")
BARE_VALUE_KEYS = ("data", "experiment")


def parse_overrides(overrides: Sequence[str]) -> dict[str, str]:
    """``["model=vqvae_ste", "+a.b=1"]`` -> ``{"model": "vqvae_ste", "a.b": "1"}``."""
    parsed = {}
    for override in overrides:
        key, _, value = override.lstrip("+~").partition("=")
        parsed[key] = value
    return parsed


def run_name(overrides: Sequence[str], model: str | None) -> str | None:
    """Readable name: the model, then ``leaf=value`` per override (the bare value for a dataset or
    experiment choice).

    ``("vqvae_ste", ["model=vqvae_ste", "model.quantizer.codebook_size=64"])`` ->
    ``"vqvae_ste codebook_size=64"``; overrides that only say where a run writes are left out.
    """
    parts = [model] if model else []
    for key, value in parse_overrides(overrides).items():
        if key.startswith(UNNAMED_PREFIXES) or key == "model":
            continue
        leaf = key.replace("/", ".").split(".")[-1]
        parts.append(value if key in BARE_VALUE_KEYS else f"{leaf}={value}")
    return " ".join(parts) or None


class DashboardWandbLogger(WandbLogger):
    """``WandbLogger`` plus metric summaries, overrides in the config and a readable name.

    Args are ``WandbLogger``'s (``name``, ``save_dir``, ``project``, ``offline``, ``group``,
    ``job_type``, ``tags``, ``log_model``) plus ``summaries`` (``{metric: [op, ...]}``, ops among
    min, max, mean, last, first) and ``overrides`` (the job's ``key=value`` overrides).
    """

    def __init__(
        self,
        project: str,
        save_dir: str,
        name: str | None = None,
        offline: bool = True,
        group: str | None = None,
        job_type: str | None = None,
        tags: Sequence[str] = (),
        log_model: bool = False,
        summaries: Mapping[str, Sequence[str]] | None = None,
        overrides: Sequence[str] = (),
        id: str | None = None,
    ) -> None:
        super().__init__(
            id=id,
            name=name or run_name(overrides, job_type),
            save_dir=save_dir,
            project=project,
            offline=offline,
            log_model=log_model,
            group=group,
            job_type=job_type,
            tags=list(tags),
            config={"overrides": parse_overrides(overrides)},
        )
        self.summaries = {metric: list(ops) for metric, ops in (summaries or {}).items()}
        self._summaries_defined = False

    @property
    def experiment(self) -> Any:
        """The W&B run; on first access, its metric summaries are defined (global zero only)."""
        run = super().experiment
        if rank_zero_only.rank == 0 and not self._summaries_defined:
            for metric, ops in self.summaries.items():
                run.define_metric(metric, step_metric=STEP_METRIC, summary=",".join(ops))
            self._summaries_defined = True
        return run
