"""A LightningDataModule over tensors already in memory (embedded and synthetic datasets)."""

from __future__ import annotations

import lightning as L
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from vqlab.data.sampler import EpochSeededSampler
from vqlab.data.splits import split_indices
from vqlab.errors import check_non_negative, check_positive


class TensorDataModule(L.LightningDataModule):
    """Serves ``(x,)`` batches from a tensor split by seed into train / val / test.

    Subclasses implement ``load() -> Tensor`` of shape (n, *input_shape); training batches are
    shuffled by an ``EpochSeededSampler`` so that a resumed run sees the same batches.
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
        sampler = EpochSeededSampler(len(dataset), self.seed) if split == "train" else None
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train")

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")
