"""A shuffling sampler whose order depends only on (seed, epoch), so resumed runs see the same
batches as uninterrupted ones."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class EpochSeededSampler(Sampler[int]):
    """Permutation of ``range(num_samples)`` drawn from a generator seeded with ``seed + epoch``.

    Lightning calls ``set_epoch`` at the start of every training epoch (and wraps this sampler in
    a distributed one under DDP), so epoch e has the same order whether or not the run was resumed.
    """

    def __init__(self, num_samples: int, seed: int) -> None:
        self.num_samples = num_samples
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(torch.randperm(self.num_samples, generator=generator).tolist())

    def __len__(self) -> int:
        return self.num_samples
