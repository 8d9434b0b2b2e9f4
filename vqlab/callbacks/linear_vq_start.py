"""The linear VQ lab's start: PCA and k-means on the training rows before the first step.

``LinearVQ.initialize(rows)`` fits ``W`` and the codebook (``KMeansStart``, or every row for
``PCALloydVQ``); this callback reads the rows in dataset order through the data hooks and, under
DDP, gives every rank rank 0's result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, SequentialSampler

from vqlab.callbacks.batch_transfer import transfer_batch
from vqlab.data.device_loader import DeviceBatchLoader
from vqlab.data.resumable import ResumableSampler
from vqlab.distributed import broadcast_from_rank_zero
from vqlab.models.linear_vq import LinearVQ


class LinearVQStart(L.Callback):
    """At the start of training, ``initialize`` an uninitialised ``LinearVQ`` from its training
    rows (a resumed run is initialised already and keeps its state)."""

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not isinstance(pl_module, LinearVQ) or bool(pl_module.initialized):
            return
        rows = training_rows(
            trainer.train_dataloader, lambda batch: transfer_batch(trainer, pl_module, batch)
        )
        pl_module.initialize(rows.to(pl_module.device))
        # every rank initialises from its own shard: rank 0's result is everyone's
        for tensor in (pl_module.encoder.weight, pl_module.codebook):
            broadcast_from_rank_zero(tensor.data)


def training_rows(loader: Iterable, transform: Callable[[Any], Any]) -> Tensor:
    """The inputs of a training loader in dataset order, not the shuffled order it serves.

    A ``DeviceBatchLoader`` or ``DataLoader`` is re-read with a sequential order (the same rows on
    every rank: the sampler does the sharding); any other iterable is read once as served.
    ``transform`` is applied to each batch first (the data hooks, ``transfer_batch``: e.g. uint8
    images scaled to [-1, 1]).
    """
    if isinstance(loader, DeviceBatchLoader):
        count = len(loader.tensors[0])
        order = ResumableSampler(SequentialSampler(range(count)))
        loader = DeviceBatchLoader(loader.tensors, loader.batch_size, order)
    elif isinstance(loader, DataLoader):
        loader = DataLoader(loader.dataset, batch_size=loader.batch_size or 1)
    return torch.cat([transform(batch)[0] for batch in loader])
