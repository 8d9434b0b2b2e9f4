"""A LightningModule base whose optimizer and learning-rate scheduler come as Hydra partials."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from vqlab.models.random_state import RandomStateCheckpoint

OptimizerFactory = Callable[[Iterable[nn.Parameter]], Optimizer]
SchedulerFactory = Callable[[Optimizer], LRScheduler]


class OptimizedModule(RandomStateCheckpoint):
    """``configure_optimizers`` from ``optimizer(params)`` and, optionally, ``scheduler(opt)``.

    Checkpoints hold every rank's random-generator state (``RandomStateCheckpoint``).

    The factories are rebuilt from the run's Hydra config (``_partial_: true``); subclasses keep
    them out of ``save_hyperparameters`` so checkpoints hold plain values only.
    ``scheduler_interval`` is ``"epoch"`` or ``"step"``.
    """

    # constructor arguments that are modules or factories, not hyperparameters: subclasses extend
    # it and pass it to ``save_hyperparameters(ignore=...)``
    module_arguments: tuple[str, ...] = ("optimizer", "scheduler")

    def __init__(
        self,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        scheduler_interval: str = "epoch",
    ) -> None:
        super().__init__()
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.scheduler_interval = scheduler_interval

    def parameter_groups(self) -> list[dict[str, Any]]:
        """The optimizer's parameter groups: one group of every parameter by default.

        Variants that train some parameters at their own learning rate (a codebook, assignment
        logits) override this and return several ``{"params": [...], "lr": ...}`` groups; a group
        without ``lr`` takes the optimizer's.
        """
        return [{"params": list(self.parameters())}]

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = self.optimizer_factory(self.parameter_groups())
        if self.scheduler_factory is None:
            return {"optimizer": optimizer}
        scheduler = self.scheduler_factory(optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": self.scheduler_interval},
        }
