"""A tiny encoder -> quantizer -> decoder module and a stand-in trainer for codebook callbacks."""

from __future__ import annotations

from types import SimpleNamespace

import torch
from lightning.pytorch.plugins.precision import Precision
from torch import Tensor, nn

from vqlab.quantizers import VectorQuantizer

Batch = tuple[Tensor, ...]


class TinyAutoencoder(nn.Module):
    """Linear encoder, a codebook quantizer, linear decoder: ``forward(x) -> (x_hat, output)``."""

    def __init__(self, quantizer: VectorQuantizer, features: int = 6) -> None:
        super().__init__()
        self.encoder = nn.Linear(features, quantizer.dim)
        self.quantizer = quantizer
        self.decoder = nn.Linear(quantizer.dim, features)

    @property
    def device(self) -> torch.device:
        return self.encoder.weight.device

    # a LightningModule's data hooks, as its defaults do: only the move
    def on_before_batch_transfer(self, batch: Batch, dataloader_idx: int) -> Batch:
        return batch

    def transfer_batch_to_device(self, batch: Batch, device: torch.device, idx: int) -> Batch:
        return tuple(tensor.to(device) for tensor in batch)

    def on_after_batch_transfer(self, batch: Batch, dataloader_idx: int) -> Batch:
        return batch

    def forward(self, x: Tensor):
        out = self.quantizer(self.encoder(x))
        return self.decoder(out.quantized), out


def stand_in_trainer(batches: list[Tensor], optimizers=(), world_size: int = 1, rank: int = 0):
    """What the codebook callbacks read from a Lightning trainer."""
    loader = [(x,) for x in batches]
    return SimpleNamespace(
        datamodule=SimpleNamespace(train_dataloader=lambda: loader),
        train_dataloader=loader,
        precision_plugin=Precision(),
        world_size=world_size,
        global_rank=rank,
        optimizers=list(optimizers),
        global_step=0,
        loggers=[],
    )
