"""FiniteLossGuard: no checkpoint of a run whose loss went NaN reaches disk."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from vqlab.callbacks import FiniteLossGuard
from vqlab.errors import NonFiniteLossError

NAN_FROM_STEP = 3


class TurnsNaN(L.LightningModule):
    """A linear model whose loss is NaN from training step ``NAN_FROM_STEP`` (0-based) on."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 1)

    def training_step(self, batch: tuple[Tensor], batch_idx: int) -> Tensor:
        loss = self.layer(batch[0]).square().mean()
        return loss * torch.nan if self.global_step >= NAN_FROM_STEP else loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_guard_checking_every_100_steps_still_keeps_nan_checkpoints_off_disk(
    tmp_path: Path,
) -> None:
    checkpoints = ModelCheckpoint(tmp_path, "{step}", every_n_train_steps=1, save_top_k=-1)
    trainer = L.Trainer(
        max_epochs=1,
        logger=False,
        accelerator="cpu",
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[FiniteLossGuard(check_every_n_steps=100), checkpoints],
    )
    loader = DataLoader(TensorDataset(torch.randn(40, 2)), batch_size=4)
    with pytest.raises(NonFiniteLossError):
        trainer.fit(TurnsNaN(), loader)
    saved = sorted(path.name for path in tmp_path.glob("*.ckpt"))
    assert saved == [f"step={step}.ckpt" for step in range(1, NAN_FROM_STEP + 1)]
    for path in tmp_path.glob("*.ckpt"):
        state = torch.load(path, weights_only=False)["state_dict"]
        assert all(torch.isfinite(tensor).all() for tensor in state.values()), path.name
