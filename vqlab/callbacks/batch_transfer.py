"""A batch as the training step receives it, through Lightning's public data hooks (for callbacks
that run the model on training batches of their own, e.g. k-means initialisation)."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.utilities.model_helpers import is_overridden

DATA_HOOKS = ("on_before_batch_transfer", "transfer_batch_to_device", "on_after_batch_transfer")


def data_hook(trainer: L.Trainer, pl_module: L.LightningModule, name: str) -> Any:
    """Lightning's choice of a data hook: the datamodule's when it overrides it, else the
    module's."""
    datamodule = trainer.datamodule
    if datamodule is not None and is_overridden(name, datamodule, L.LightningDataModule):
        return getattr(datamodule, name)
    return getattr(pl_module, name)


def transfer_batch(
    trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, dataloader_idx: int = 0
) -> Any:
    """``batch`` from a loader, on ``pl_module``'s device, in Lightning's order (its training
    loop, 2.x): the precision plugin's ``convert_input``, then ``on_before_batch_transfer``,
    ``transfer_batch_to_device``, ``on_after_batch_transfer``."""
    before, transfer, after = (data_hook(trainer, pl_module, name) for name in DATA_HOOKS)
    batch = trainer.precision_plugin.convert_input(batch)
    batch = before(batch, dataloader_idx)
    batch = transfer(batch, pl_module.device, dataloader_idx)
    return after(batch, dataloader_idx)
