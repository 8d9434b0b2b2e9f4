"""Random horizontal flips that depend only on (seed, epoch, sample), identical on both data paths.

The flip of sample ``i`` in epoch ``e`` is drawn by the sampler, in the main process:
``flip_e = rand(n, generator seeded with (seed, epoch)) < 1/2``, and encoded in the index it yields,
``i + n * flip_e[i]``. A ``MirroredDataset`` (DataLoader path) or ``DeviceBatchLoader`` (device
path) serves index ``j`` as sample ``j mod n``, mirrored along its last (width) axis when
``j >= n``. Workers, persistent workers, DDP sharding and mid-epoch resume therefore all see the
same flips; a resumed run flips as the uninterrupted one did. The HC-VQ reference flips CelebA
horizontally at random in training and validation (``RandomHorizontalFlip``, p = 1/2).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import Dataset, Sampler

from vqlab.data.sampler import EpochSeededSampler

# keeps the flip generator's seeds apart from the shuffling sampler's ``seed + epoch``
FLIP_SEED_OFFSET = 7_919_000


class FlipSampler(Sampler[int]):
    """Yields ``i + n * flip_epoch[i]`` for each index ``i`` of ``order`` (n = ``num_samples``)."""

    def __init__(self, order: Sampler[int], num_samples: int, seed: int) -> None:
        self.order = order
        self.num_samples = num_samples
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if isinstance(self.order, EpochSeededSampler):  # a SequentialSampler has no epochs
            self.order.set_epoch(epoch)

    def flips(self) -> Tensor:
        """(n,) bool: which samples this epoch mirrors."""
        generator = torch.Generator().manual_seed(
            FLIP_SEED_OFFSET + self.seed * 1_000_003 + self.epoch
        )
        return torch.rand(self.num_samples, generator=generator) < 0.5

    def __iter__(self) -> Iterator[int]:
        offsets = self.flips().long() * self.num_samples
        return (index + int(offsets[index]) for index in self.order)

    def __len__(self) -> int:
        return len(self.order)


class MirroredDataset(Dataset):
    """Item ``j`` of ``2 n``: item ``j mod n`` of ``dataset``, its image flipped when ``j >= n``."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.num_samples = len(dataset)

    def __len__(self) -> int:
        return 2 * self.num_samples

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        image, *rest = self.dataset[index % self.num_samples]
        return (image.flip(-1) if index >= self.num_samples else image, *rest)


def gather_mirrored(images: Tensor, rows: Tensor) -> Tensor:
    """``images[rows mod n]``, mirrored along the last axis where ``rows >= n`` (device path)."""
    num_samples = images.shape[0]
    batch = images[rows % num_samples]
    mirrored = (rows >= num_samples).view(-1, *([1] * (batch.dim() - 1)))
    return torch.where(mirrored, batch.flip(-1), batch)
