"""The LightningDataModule that every image dataset shares: loaders, device-resident fast path,
scaling to the decoder's range, input statistics."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler, SequentialSampler

from vqlab.data.device_loader import DeviceBatchLoader
from vqlab.data.flip import FlipSampler, MirroredDataset
from vqlab.data.residency import decode_all, keeps_in_memory, parse_in_memory
from vqlab.data.resumable import ResumableDataLoader, ResumableSampler
from vqlab.data.sampler import EpochSeededSampler
from vqlab.data.statistics import intensity_entropy
from vqlab.errors import ConfigValueError, EmptySplitError, check_non_negative, check_positive

SPLITS = ("train", "val", "test")
Batch = tuple[Tensor, ...]


def to_decoder_range(images: Tensor, value_range: Sequence[float] = (-1.0, 1.0)) -> Tensor:
    """uint8 images in 0..255 -> float32 in ``value_range`` (low, high): ``low + v (high - low) /
    255``. [-1, 1] by default, the range of the decoders' final Tanh; [0, 1] is what ``ToTensor``
    gives (the HC-VQ reference's inputs)."""
    low, high = value_range
    return images.to(torch.float32) * ((high - low) / 255.0) + low


def check_value_range(value_range: Sequence[float]) -> tuple[float, float]:
    """``(low, high)`` with ``low < high``, else a ``ConfigValueError`` naming ``value_range``."""
    values = tuple(float(value) for value in value_range)
    if len(values) != 2 or not values[0] < values[1]:
        raise ConfigValueError(
            "value_range", "[low, high] with low < high, e.g. [0, 1]", value_range
        )
    return values


class ImageDataModule(L.LightningDataModule):
    """Serves ``(x, y)`` batches: ``x`` images (b, c, h, w) in ``value_range`` ([-1, 1] by
    default; [0, 1] as the HC-VQ reference trains), ``y`` int64 labels (-1 for datasets without
    labels). ``random_flip`` mirrors train and val images horizontally at random, the same way on
    both paths for a given (seed, epoch) (``vqlab.data.flip``).

    Subclasses set ``input_shape`` (c, h, w) and implement ``build_splits()``: one dataset per
    split whose items are ``(uint8 tensor (c, h, w), int label)``. Loaders serve uint8 batches;
    ``on_after_batch_transfer`` scales them on the training device (4x less host-to-device
    traffic, and one definition of the scaling for both paths).

    Two paths serve the same batches in the same order for a given seed:

    - device-resident (``in_memory``: ``true``, or ``auto`` when the uint8 data takes at most a
      quarter of the device's free memory): every split is decoded once into one uint8 tensor on
      the training device and cut into batches by index (``DeviceBatchLoader``), no workers;
    - DataLoader: ``num_workers`` processes decode samples, ``pin_memory`` (on CUDA only),
      ``persistent_workers``.

    Training order is an ``EpochSeededSampler`` (depends only on seed and epoch). Under DDP the
    datamodule shards every split itself (``ResumableSampler``, Lightning's
    ``DistributedSamplerWrapper`` without reshuffling), so both paths shard alike and Lightning
    does not replace the sampler. Both training loaders save their position within the epoch in
    the checkpoint, so a run resumed from any step continues with the next batch.
    """

    input_shape: tuple[int, int, int]

    def __init__(
        self,
        batch_size: int = 64,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        in_memory: str | bool = "auto",
        seed: int = 0,
        value_range: Sequence[float] = (-1.0, 1.0),
        random_flip: bool = False,
    ) -> None:
        super().__init__()
        self.value_range = check_value_range(value_range)
        self.random_flip = bool(random_flip)
        check_positive("batch_size", batch_size)
        check_non_negative("num_workers", num_workers)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.persistent_workers = persistent_workers
        self.in_memory = parse_in_memory(in_memory)
        self.seed = seed
        self.datasets: dict[str, Dataset] = {}
        self.tensors: dict[str, tuple[Tensor, Tensor]] = {}
        self._input_entropy: float | None = None

    def build_splits(self) -> dict[str, Dataset]:
        """``{"train": ..., "val": ..., "test": ...}`` of ``(uint8 (c, h, w), int label)`` items."""
        raise NotImplementedError

    @property
    def input_dim(self) -> int:
        """Number of values per input, ``c * h * w`` (the flattened dimension, e.g. for the CAE)."""
        return math.prod(self.input_shape)

    @property
    def device(self) -> torch.device:
        """The training device (the CPU when no trainer is attached)."""
        return self.trainer.strategy.root_device if self.trainer else torch.device("cpu")

    @property
    def is_in_memory(self) -> bool:
        """Whether ``setup`` put the splits in device memory."""
        return bool(self.tensors)

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        self.datasets = self.build_splits()
        for split, dataset in self.datasets.items():
            if len(dataset) == 0:
                raise EmptySplitError(
                    f"the {split} split of {type(self).__name__} holds no image: check the "
                    f"dataset's files (a partition file without {split} rows?) or the split "
                    "fractions (data.val_fraction, data.test_fraction)"
                )
        num_bytes = sum(len(dataset) for dataset in self.datasets.values()) * self.input_dim
        if keeps_in_memory(self.in_memory, num_bytes, self.device):
            for split, dataset in self.datasets.items():
                images, labels = decode_all(dataset, self.num_workers)
                self.tensors[split] = (images.to(self.device), labels.to(self.device))

    def flips(self, split: str) -> bool:
        """Whether ``split`` is served with random horizontal flips (train and val, as the HC-VQ
        reference does, when ``random_flip``)."""
        return self.random_flip and split in ("train", "val")

    def sampler(self, split: str, num_samples: int) -> ResumableSampler:
        """Seeded shuffling for training, sequential otherwise; this rank's shard under DDP."""
        if split == "train":
            order: Sampler[int] = EpochSeededSampler(num_samples, self.seed)
        else:
            order = SequentialSampler(range(num_samples))
        if self.flips(split):
            order = FlipSampler(order, num_samples, self.seed)
        if self.trainer is None:
            return ResumableSampler(order)
        return ResumableSampler(order, self.trainer.world_size, self.trainer.global_rank)

    def loader(self, split: str) -> Iterable[Batch]:
        """The split's batches (uint8 images): device-resident when set up so, else a DataLoader."""
        if self.tensors:
            images, labels = self.tensors[split]
            sampler = self.sampler(split, len(images))
            return DeviceBatchLoader((images, labels), self.batch_size, sampler, self.flips(split))
        dataset = self.datasets[split]
        sampler = self.sampler(split, len(dataset))
        if self.flips(split):
            dataset = MirroredDataset(dataset)
        loader_class = ResumableDataLoader if split == "train" else DataLoader
        options = {"seed": self.seed} if split == "train" else {}
        return loader_class(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory and self.device.type == "cuda",
            persistent_workers=self.persistent_workers and self.num_workers > 0,
            **options,
        )

    def split_dataset(self, split: str) -> Dataset:
        """The ``split``'s items ``(uint8 image, label)`` in their fixed order (after ``setup``)."""
        return self.datasets[split]

    def train_dataloader(self) -> Iterable[Batch]:
        return self.loader("train")

    def val_dataloader(self) -> Iterable[Batch]:
        return self.loader("val")

    def test_dataloader(self) -> Iterable[Batch]:
        return self.loader("test")

    def on_after_batch_transfer(self, batch: Batch, dataloader_idx: int) -> Batch:
        """Scale the batch's uint8 images to ``value_range`` on the training device."""
        images, *rest = batch
        return (to_decoder_range(images, self.value_range), *rest)

    def input_entropy(self) -> float:
        """Entropy (nats) of the pixel-intensity histogram of the training split (0..255 values).

        A dataset-level input entropy for HC-VQ's entropy scale (the reference's per-batch H_x is
        the model's business); computed once (a pass over the training images on the DataLoader
        path) and cached. Call after ``setup``.
        """
        if self._input_entropy is None:
            if self.tensors:
                batches: Iterable[Tensor] = self.tensors["train"][0].split(self.batch_size)
            else:
                batches = (images for images, _ in self.loader("train"))
            self._input_entropy = intensity_entropy(batches)
        return self._input_entropy
