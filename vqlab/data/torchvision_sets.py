"""MNIST, Fashion-MNIST and CIFAR-10 through ``torchvision.datasets``, from local copies or
downloaded (``data.download=true``).

LeCun et al., "Gradient-based learning applied to document recognition", 1998 (MNIST);
Xiao et al., "Fashion-MNIST", 2017, arXiv:1708.07747; Krizhevsky, "Learning Multiple Layers of
Features from Tiny Images", 2009 (CIFAR-10). Official train/test splits; validation is a seeded
``val_fraction`` of the official training set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from torch.utils.data import Dataset, Subset
from torchvision import datasets, transforms

from vqlab.data.image_datamodule import ImageDataModule
from vqlab.data.presence import require_files
from vqlab.data.splits import split_indices
from vqlab.errors import check_positive


class LocalCIFAR10(datasets.CIFAR10):
    """torchvision's CIFAR10 checking that the batch files exist instead of their md5 sums.

    Deviation: torchvision hashes all 170 MB on every construction; MNIST's files get no md5
    check either, a download is still checked against the archive's md5, and a corrupt batch
    fails to unpickle. It also lets tests load small batches written in the real format.
    """

    train_list: ClassVar[list[list[str | None]]] = [
        [name, None] for name, _ in datasets.CIFAR10.train_list
    ]
    test_list: ClassVar[list[list[str | None]]] = [
        [name, None] for name, _ in datasets.CIFAR10.test_list
    ]
    meta: ClassVar[dict[str, str | None]] = {**datasets.CIFAR10.meta, "md5": None}


class TorchvisionDataModule(ImageDataModule):
    """A ``torchvision.datasets`` class with a ``train`` flag, served as (x, label) batches.

    Subclasses set ``name``, ``dataset_class``, ``native_shape`` (c, h, w) and
    ``required_files()``.
    Images are resized to ``image_size`` (bilinear, antialiased) when it differs from the native
    size. ``loader``: ``ImageDataModule``'s keyword arguments (``batch_size``, ``seed``, ...).
    """

    name: str
    dataset_class: type[datasets.VisionDataset]
    native_shape: tuple[int, int, int]

    def __init__(
        self,
        root: str = "data",
        download: bool = False,
        image_size: int | None = None,
        val_fraction: float = 0.1,
        **loader: Any,
    ) -> None:
        super().__init__(**loader)
        channels, native_size, _ = self.native_shape
        self.image_size = image_size or native_size
        check_positive("image_size", self.image_size)
        self.root = root
        self.download = download
        self.val_fraction = val_fraction
        self.input_shape = (channels, self.image_size, self.image_size)
        if not download:
            require_files(self.name, *self.required_files())

    def required_files(self) -> tuple[Path, list[str], str]:
        """(folder, file names, layout description) that a local copy must have."""
        raise NotImplementedError

    def prepare_data(self) -> None:
        if self.download:
            for train in (True, False):
                self.dataset_class(self.root, train=train, download=True)

    def build_splits(self) -> dict[str, Dataset]:
        steps = [transforms.PILToTensor()]
        if self.image_size != self.native_shape[1]:
            steps.insert(0, transforms.Resize(self.image_size))
        transform = transforms.Compose(steps)
        train = self.dataset_class(self.root, train=True, transform=transform)
        test = self.dataset_class(self.root, train=False, transform=transform)
        train_rows, val_rows, _ = split_indices(len(train), self.val_fraction, 0.0, self.seed)
        return {
            "train": Subset(train, train_rows.tolist()),
            "val": Subset(train, val_rows.tolist()),
            "test": test,
        }


class MNISTDataModule(TorchvisionDataModule):
    """MNIST digits, (1, 28, 28); labels 0..9."""

    name = "MNIST"
    dataset_class = datasets.MNIST
    native_shape = (1, 28, 28)

    def required_files(self) -> tuple[Path, list[str], str]:
        folder_name = self.dataset_class.__name__
        # torchvision reads the uncompressed idx files: the resources' names without ".gz"
        names = [Path(url).stem for url, _ in self.dataset_class.resources]
        layout = f"ROOT/{folder_name}/raw/<uncompressed idx files>"
        return Path(self.root) / folder_name / "raw", names, layout


class FashionMNISTDataModule(MNISTDataModule):
    """Fashion-MNIST clothing images, (1, 28, 28); labels 0..9."""

    name = "Fashion-MNIST"
    dataset_class = datasets.FashionMNIST


class CIFAR10DataModule(TorchvisionDataModule):
    """CIFAR-10 colour images, (3, 32, 32); labels 0..9."""

    name = "CIFAR-10"
    dataset_class = LocalCIFAR10
    native_shape = (3, 32, 32)

    def required_files(self) -> tuple[Path, list[str], str]:
        folder = Path(self.root) / LocalCIFAR10.base_folder
        batches = LocalCIFAR10.train_list + LocalCIFAR10.test_list
        names = [name for name, _ in batches] + [LocalCIFAR10.meta["filename"]]
        layout = f"ROOT/{LocalCIFAR10.base_folder}/<python pickle batches>"
        return folder, names, layout
