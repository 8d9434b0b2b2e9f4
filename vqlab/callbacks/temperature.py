"""Anneal the temperature of every ``Annealable`` module of the model (Gumbel-softmax, ...)."""

from __future__ import annotations

import math
from typing import Any

import lightning as L

from vqlab.errors import ConfigError, ConfigValueError, check_non_negative, check_positive
from vqlab.quantizers import Annealable

SCHEDULES = ("exp", "linear", "cosine")


def annealed_temperature(progress: float, temp_base: float, temp_min: float, mode: str) -> float:
    """Temperature at ``progress`` p in [0, 1] of the annealing; see ``TemperatureAnnealing``."""
    if mode == "exp":
        return temp_base * (temp_min / temp_base) ** progress
    if mode == "linear":
        return temp_base + (temp_min - temp_base) * progress
    return temp_min + (temp_base - temp_min) * 0.5 * (1.0 + math.cos(math.pi * progress))


class TemperatureAnnealing(L.Callback):
    """Set ``temperature`` of every ``Annealable`` module from a schedule, per epoch or step.

    With position ``u`` (the epoch, or the optimizer step for ``interval="step"``), annealing
    start ``s`` (``warmup_epochs``) and end ``e`` (``stop_anneal``, else the last epoch / step of
    training), the progress is ``p = 0`` for ``u < s``, ``p = 1`` for ``u >= e``, else
    ``p = (u - s) / (e - s)``, and
    - ``exp``: ``T = T0 (Tmin / T0)^p``, the CAE paper's ``T(b) = T0 (T_B / T0)^(b / B)``
      (Abid, Balin & Zou, ICML 2019, arXiv:1901.09346, Sec. 3.1);
    - ``linear``: ``T = T0 + (Tmin - T0) p``;
    - ``cosine``: ``T = Tmin + (T0 - Tmin) (1 + cos(pi p)) / 2``;
    with ``T0 = temp_base`` and ``Tmin = temp_min``. So the temperature is ``temp_base`` through
    the warm-up and on the first annealed epoch, ``temp_min`` on the last one, and holds at
    ``temp_min`` from ``stop_anneal`` on. Step positions convert epochs by the number of training
    batches per epoch. The resolved ``(s, e)`` are checkpointed, so a resumed run continues the
    same schedule even if ``trainer.max_epochs`` changed; the modules' temperatures are
    checkpointed buffers. A run too short to anneal per epoch (``e <= s`` with ``interval="epoch"``,
    e.g. a one-epoch smoke run) anneals per optimizer step over the same span instead, so every
    recipe's one-epoch run goes from ``temp_base`` to ``temp_min``; a one-step run holds
    ``temp_min``. A warm-up that reaches the end of training and non-finite temperatures are
    refused with a ``ConfigValueError`` (``fast_dev_run`` smoke tests excepted).

    Deviation: the seed's code offsets the annealed epoch by ``-(warmup + 1)``, so its first
    annealed epoch runs above ``temp_base``; here ``p = 0`` there. Its ``stop_anneal`` freezes the
    full-length schedule at an intermediate temperature; here it is the epoch at which
    ``temp_min`` is reached (counted from the start of training, like ``warmup_epochs``).
    """

    def __init__(
        self,
        temp_base: float = 10.0,
        temp_min: float = 0.01,
        mode: str = "exp",
        warmup_epochs: int = 0,
        stop_anneal: int | None = None,
        interval: str = "epoch",
    ) -> None:
        for name, value in (("temp_base", temp_base), ("temp_min", temp_min)):
            check_positive(name, value)
            if not math.isfinite(value):
                raise ConfigValueError(name, "finite", value)
        check_non_negative("warmup_epochs", warmup_epochs)
        if mode not in SCHEDULES:
            raise ConfigValueError("mode", f"one of {list(SCHEDULES)}", mode)
        if interval not in ("epoch", "step"):
            raise ConfigValueError("interval", "'epoch' or 'step'", interval)
        if stop_anneal is not None and not stop_anneal > warmup_epochs:
            raise ConfigValueError("stop_anneal", f"> warmup_epochs ({warmup_epochs})", stop_anneal)
        self.temp_base = temp_base
        self.temp_min = temp_min
        self.mode = mode
        self.warmup_epochs = warmup_epochs
        self.stop_anneal = stop_anneal
        self.interval = interval
        self.unit = (
            interval  # the resolved position unit: per step when an epoch schedule is too short
        )
        self.start: int | None = None
        self.end: int | None = None

    def temperature_at(self, position: int) -> float:
        """The scheduled temperature at epoch (or step) ``position``."""
        if self.start is None or self.end is None:
            raise RuntimeError("the schedule is resolved when fitting starts")
        if position < self.start:
            progress = 0.0
        elif position >= self.end:
            progress = 1.0
        else:
            progress = (position - self.start) / (self.end - self.start)
        return annealed_temperature(progress, self.temp_base, self.temp_min, self.mode)

    def span(self, trainer: L.Trainer, unit: str) -> tuple[int, int]:
        """The schedule's (start, end) positions in ``unit`` (epochs or optimizer steps)."""
        per_epoch = 1
        if unit == "step":
            per_epoch = math.ceil(trainer.num_training_batches / trainer.accumulate_grad_batches)
        if self.stop_anneal is not None:
            end = self.stop_anneal * per_epoch
        elif unit == "step" and math.isfinite(trainer.estimated_stepping_batches):
            end = int(trainer.estimated_stepping_batches) - 1
        elif unit == "epoch" and trainer.max_epochs not in (None, -1):
            end = trainer.max_epochs - 1
        else:
            raise ConfigValueError("stop_anneal", "set when training has no fixed length", None)
        return self.warmup_epochs * per_epoch, end

    def resolve(self, trainer: L.Trainer) -> None:
        """Fix the schedule's unit, start and end positions from the trainer's length."""
        unit = self.interval
        start, end = self.span(trainer, unit)
        if unit == "epoch" and start >= end:  # e.g. one epoch: anneal over its steps instead
            unit = "step"
            start, end = self.span(trainer, unit)
        if start >= end and self.warmup_epochs > 0 and not trainer.fast_dev_run:
            raise ConfigValueError(
                "callbacks.temperature.warmup_epochs",
                f"shorter than the annealing span ({end} {unit}s, from trainer.max_epochs or "
                "stop_anneal); lower it or train longer",
                self.warmup_epochs,
            )
        self.unit, self.start, self.end = unit, start, end

    def modules(self, pl_module: L.LightningModule) -> list[Annealable]:
        annealable = [module for module in pl_module.modules() if isinstance(module, Annealable)]
        if not annealable:
            raise ConfigError(
                f"callbacks.temperature: {type(pl_module).__name__} has no module with a "
                "temperature (vqlab.quantizers.Annealable): it is part of the recipes of "
                "model=cae and model=learnable_vq; choose one of them, or other callbacks "
                "(callbacks=default)"
            )
        return annealable

    def apply(self, pl_module: L.LightningModule, position: int) -> None:
        temperature = self.temperature_at(position)
        for module in self.modules(pl_module):
            module.temperature = temperature

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.start is None:
            self.resolve(trainer)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.unit == "epoch":
            self.apply(pl_module, trainer.current_epoch)

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self.unit == "step":
            self.apply(pl_module, trainer.global_step)

    def state_dict(self) -> dict[str, Any]:
        return {"unit": self.unit, "start": self.start, "end": self.end}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.unit = state_dict.get("unit", self.interval)  # checkpoints from before the fallback
        self.start = state_dict["start"]
        self.end = state_dict["end"]
