"""Callbacks transfer their own batches exactly as Lightning hands batches to training_step."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader

from vqlab.callbacks.batch_transfer import transfer_batch

CALLS: list[str] = []


class HookedData(L.LightningDataModule):
    """Overrides two of the three data hooks; each leaves a mark on the batch."""

    def train_dataloader(self) -> DataLoader:
        return DataLoader(torch.arange(8.0).reshape(4, 2), batch_size=4)

    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        CALLS.append("data.before")
        return batch * 10

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        CALLS.append("data.after")
        return batch - 1


class HookedModel(L.LightningModule):
    """Overrides the transfer and (shadowed by the datamodule's, as Lightning rules) the after
    hook; records what its training step receives."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.seen: list[torch.Tensor] = []

    def transfer_batch_to_device(self, batch: Any, device: torch.device, idx: int) -> Any:
        CALLS.append("model.transfer")
        return batch.to(device) + 0.5

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        CALLS.append("model.after")
        return batch * 0

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        self.seen.append(batch.clone())
        return self.layer(batch).sum()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_transfer_batch_matches_what_training_step_receives(tmp_path) -> None:
    data, model = HookedData(), HookedModel()
    trainer = L.Trainer(
        max_steps=1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(model, datamodule=data)
    CALLS.clear()
    batch = next(iter(data.train_dataloader()))
    ours = transfer_batch(trainer, model, batch)
    assert CALLS == ["data.before", "model.transfer", "data.after"]
    assert torch.equal(ours, model.seen[0])
    assert torch.equal(ours, batch * 10 + 0.5 - 1)
