"""Batches cut by index from tensors that already live on the training device.

The fast path for datasets that fit in device memory: no worker processes, no per-sample Python,
no host-to-device copy per batch; one gather per tensor per batch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor

from vqlab.data.flip import gather_mirrored
from vqlab.data.resumable import BatchProgress, ResumableSampler


class DeviceBatchLoader:
    """Iterate ``tuple(t[order[i : i + batch_size]] for t in tensors)`` over a sampler's order.

    ``sampler`` gives the order of the rows (an ``EpochSeededSampler`` in a ``ResumableSampler``
    that keeps this rank's shard); the last batch may be short,
    as with ``DataLoader(drop_last=False)``, so a ``DataLoader`` over the same rows with the same
    sampler and batch size yields the same batches. Lightning calls ``sampler.set_epoch`` at the
    start of every training epoch through the ``sampler`` attribute, as it does for a DataLoader;
    it leaves non-DataLoader iterables alone under DDP, so the sharding is the sampler's.
    ``mirrored``: the sampler yields indices in ``[0, 2 n)`` (``vqlab.data.flip``); index ``j``
    is row ``j mod n``, the first tensor (the images) flipped along its last axis when ``j >= n``.
    ``state_dict`` / ``load_state_dict`` save and restore the position within an epoch (see
    ``vqlab.data.resumable``).
    """

    def __init__(
        self,
        tensors: Sequence[Tensor],
        batch_size: int,
        sampler: ResumableSampler,
        mirrored: bool = False,
    ) -> None:
        self.tensors = tuple(tensors)
        self.mirrored = mirrored
        self.batch_size = batch_size
        self.sampler = sampler
        # Lightning reads a DataLoader's batch_sampler wherever it finds a sampler; here the
        # batches are cut from the sampler's order, as a DataLoader does without a batch sampler
        self.batch_sampler = None
        self.progress = BatchProgress()

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        return self.progress.track(self.sampler, self.batch_size, self._batches)

    def _batches(self) -> Iterator[tuple[Tensor, ...]]:
        device = self.tensors[0].device
        order = torch.tensor(list(self.sampler), dtype=torch.long, device=device)
        for rows in order.split(self.batch_size):
            if not self.mirrored:
                yield tuple(tensor[rows] for tensor in self.tensors)
                continue
            images, *rest = self.tensors
            num_samples = images.shape[0]
            yield (gather_mirrored(images, rows), *(tensor[rows % num_samples] for tensor in rest))

    def __len__(self) -> int:
        return math.ceil(len(self.sampler) / self.batch_size)

    def state_dict(self) -> dict[str, int]:
        return self.progress.state_dict()

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.progress.load_state_dict(state)
