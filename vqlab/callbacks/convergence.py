"""Stop training once the concrete selectors have converged."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.utilities import rank_zero_info

from vqlab.errors import ConfigError, check_positive


class StopOnConvergence(L.Callback):
    """Stop at the end of the first training epoch whose ``monitor`` exceeds ``threshold``.

    The CAE paper stops when the mean over selectors of ``max_j pi_ij`` exceeds 0.99 (Abid,
    Balin & Zou, ICML 2019, arXiv:1901.09346, Sec. 3.1); its reference code uses 0.998. The value
    read is the last one logged (``cae/mean_max_prob`` is logged every training step). The
    stopping epoch is reported on the console and kept in the checkpoint (``converged_epoch``),
    with the monitored value at the time of the checkpoint: a run resumed from a checkpoint
    written after the epoch's last step (during its validation) decides on that value, as the
    uninterrupted run does, before any step of its own has logged one.
    """

    def __init__(self, monitor: str = "cae/mean_max_prob", threshold: float = 0.99) -> None:
        check_positive("threshold", threshold)
        self.monitor = monitor
        self.threshold = threshold
        self.converged_epoch: int | None = None
        self.trainer: L.Trainer | None = None
        self.restored_value: float | None = None  # the value at the checkpoint resumed from

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self.trainer = trainer

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        value = trainer.callback_metrics.get(self.monitor, self.restored_value)
        if value is None:
            raise ConfigError(
                f"callbacks.convergence: metric {self.monitor!r} is not logged by "
                f"{type(pl_module).__name__}; set callbacks.convergence.monitor"
            )
        if float(value) > self.threshold:
            self.converged_epoch = trainer.current_epoch
            trainer.should_stop = True
            rank_zero_info(
                f"converged: {self.monitor} = {float(value):.4f} > {self.threshold} at epoch "
                f"{trainer.current_epoch}, stopping"
            )

    def state_dict(self) -> dict[str, int | float | None]:
        metrics = self.trainer.callback_metrics if self.trainer is not None else {}
        value = metrics.get(self.monitor, self.restored_value)
        return {
            "converged_epoch": self.converged_epoch,
            "value": None if value is None else float(value),
        }

    def load_state_dict(self, state_dict: dict[str, int | float | None]) -> None:
        converged = state_dict["converged_epoch"]
        self.converged_epoch = None if converged is None else int(converged)
        value = state_dict.get("value")
        self.restored_value = None if value is None else float(value)
