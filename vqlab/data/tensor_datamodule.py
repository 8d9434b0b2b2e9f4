"""A LightningDataModule over tensors already in memory (embedded and synthetic datasets)."""

from __future__ import annotations

import lightning as L
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from vqlab.data.resumable import ResumableDataLoader, ResumableSampler
from vqlab.data.sampler import EpochSeededSampler
from vqlab.data.splits import split_indices
from vqlab.errors import check_non_negative, check_positive


class TensorDataModule(L.LightningDataModule):
    """Serves ``(x,)`` batches from a tensor split by seed into train / val / test.

    Subclasses implement ``load() -> Tensor`` of shape (n, *input_shape); training batches are
    shuffled by an ``EpochSeededSampler`` so that a resumed run sees the same batches; the
    training loader saves its position within the epoch in the checkpoint (a run resumed from any
    step continues with the next batch) and shards by rank itself under DDP.
    """

    def __init__(
        self,
        batch_size: int = 64,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        check_positive("batch_size", batch_size)
        check_non_negative("num_workers", num_workers)
        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        self.num_workers = num_workers
        self.seed = seed
        self.splits: dict[str, TensorDataset] = {}

    def load(self) -> Tensor:
        """The whole dataset as one float tensor (n, *input_shape)."""
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        data = self.load()
        train, val, test = split_indices(
            len(data), self.val_fraction, self.test_fraction, self.seed
        )
        self.splits = {
            "train": TensorDataset(data[train]),
            "val": TensorDataset(data[val]),
            "test": TensorDataset(data[test]),
        }

    def _loader(self, split: str) -> DataLoader:
        dataset = self.splits[split]
        options = {
            "batch_size": self.batch_size,
            "num_workers": self.num_workers,
            "persistent_workers": self.num_workers > 0,
        }
        if split != "train":
            return DataLoader(dataset, **options)
        order = EpochSeededSampler(len(dataset), self.seed)
        world_size, rank = (
            (self.trainer.world_size, self.trainer.global_rank) if self.trainer else (1, 0)
        )
        sampler = ResumableSampler(order, world_size, rank)
        return ResumableDataLoader(dataset, sampler, seed=self.seed, **options)

    def split_dataset(self, split: str) -> TensorDataset:
        """The ``split``'s items in their fixed order (after ``setup``); items are ``(x,)``."""
        return self.splits[split]

    def train_dataloader(self) -> DataLoader:
        return self._loader("train")

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")
