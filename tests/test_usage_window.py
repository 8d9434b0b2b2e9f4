"""The code-usage window: one point per window of optimizer steps, also under accumulation."""

from __future__ import annotations

from functools import partial

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from vqlab.models import VQVAE
from vqlab.quantizers import EMAQuantizer

BATCH, BATCHES = 4, 8


class RecordingVQVAE(VQVAE):
    """Records (global_step, codes counted) of every logged training window."""

    def __init__(self, usage_window: int) -> None:
        super().__init__(
            nn.Linear(3, 3),
            EMAQuantizer(8, 3),
            nn.Identity(),
            partial(torch.optim.SGD, lr=0.01),
            usage_window=usage_window,
        )
        self.windows: list[tuple[int, float]] = []

    def log_usage(self, stage: str) -> None:
        if stage == "train":
            self.windows.append((self.global_step, self.usage.train_window.histogram.sum().item()))
        super().log_usage(stage)


def fit(accumulate: int, usage_window: int) -> list[tuple[int, float]]:
    torch.manual_seed(0)
    model = RecordingVQVAE(usage_window)
    trainer = L.Trainer(
        max_epochs=1,
        accumulate_grad_batches=accumulate,
        logger=False,
        accelerator="cpu",
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
    )
    trainer.fit(model, DataLoader(TensorDataset(torch.randn(BATCH * BATCHES, 3)), batch_size=BATCH))
    return model.windows


def test_usage_window_is_logged_once_per_window_of_optimizer_steps_under_accumulation() -> None:
    # 8 batches, 2 per optimizer step: 4 steps; a window of 2 steps holds 4 batches of 4 codes
    assert fit(accumulate=2, usage_window=2) == [(1, 16.0), (3, 16.0)]
    # without accumulation every window of 2 steps holds 2 batches
    assert fit(accumulate=1, usage_window=2) == [(1, 8.0), (3, 8.0), (5, 8.0), (7, 8.0)]
