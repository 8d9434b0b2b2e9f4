"""CelebA aligned faces as the HC-VQ paper uses them: center crop 148, resize to 64, official split.

Liu et al., "Deep Learning Face Attributes in the Wild", ICCV 2015 (CelebA); crop and size as in
the HC-VQ reference (a PyTorch-VAE fork). Only the images and the evaluation partition are read:
torchvision's ``CelebA`` refuses a copy without all six annotation files and their md5 sums, and
its Google Drive download often fails on quota, so most users hold a local copy in one of two
layouts (both accepted):

- torchvision: ``ROOT/celeba/img_align_celeba/*.jpg`` + ``ROOT/celeba/list_eval_partition.txt``
  (lines ``000001.jpg 0``);
- Kaggle: ``ROOT/img_align_celeba/img_align_celeba/*.jpg`` + ``ROOT/list_eval_partition.csv``
  (header ``image_id,partition``).

Partition 0 is train (162770 images), 1 validation (19867), 2 test (19962).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset
from torchvision import datasets, transforms

from vqlab.data.image_datamodule import ImageDataModule
from vqlab.data.image_files import ImageFiles
from vqlab.data.presence import dataset_not_found
from vqlab.errors import DatasetNotFoundError, MissingDependencyError, check_positive

PARTITIONS = {"train": "0", "val": "1", "test": "2"}


@dataclass(frozen=True)
class CelebALayout:
    """Where one layout keeps the images and the partition file."""

    name: str
    images: str  # relative to ROOT
    partition: str  # relative to ROOT

    def describe(self) -> str:
        return f"{self.name}: ROOT/{self.images}/*.jpg + ROOT/{self.partition}"


LAYOUTS = (
    CelebALayout("torchvision", "celeba/img_align_celeba", "celeba/list_eval_partition.txt"),
    CelebALayout("Kaggle", "img_align_celeba/img_align_celeba", "list_eval_partition.csv"),
)


def read_partition(path: Path) -> list[tuple[str, str]]:
    """``(file name, partition digit)`` rows of ``list_eval_partition.txt`` or ``.csv``."""
    with path.open(newline="") as file:
        if path.suffix == ".csv":
            rows = list(csv.reader(file))[1:]  # header: image_id,partition
        else:
            rows = [line.split() for line in file if line.strip()]
    return [(name, partition) for name, partition in rows]


def find_celeba(root: Path) -> tuple[Path, list[tuple[str, str]]]:
    """The images folder and partition rows of the first complete layout under ``root``.

    Raises ``DatasetNotFoundError`` naming both layouts when neither is there, or naming the
    missing images when a partition file lists images that its folder lacks.
    """
    for layout in LAYOUTS:
        images, partition = root / layout.images, root / layout.partition
        if not (images.is_dir() and partition.is_file()):
            continue
        rows = read_partition(partition)
        present = set(os.listdir(images))
        missing = [name for name, _ in rows if name not in present]
        if missing:
            raise DatasetNotFoundError(
                f"CelebA at {root} is incomplete: {len(missing)} of the {len(rows)} images listed "
                f"in {partition} are missing from {images} (first: {missing[0]}); "
                "complete the copy or point data.root=<folder> at a complete one"
            )
        return images, rows
    looked_for = " and ".join(f"{root / layout.partition}" for layout in LAYOUTS)
    layouts = [layout.describe() for layout in LAYOUTS]
    raise dataset_not_found("CelebA", looked_for, layouts, downloadable=True)


class CelebADataModule(ImageDataModule):
    """CelebA faces, (3, image_size, image_size): center crop ``crop_size``, resize, uint8.

    No labels (y = -1). ``download=True`` goes through torchvision's downloader (all its files,
    md5-checked) into ``ROOT/celeba``, the torchvision layout. ``loader``: ``ImageDataModule``'s
    keyword arguments (``batch_size``, ``num_workers``, ...).
    """

    def __init__(
        self,
        root: str = "data",
        download: bool = False,
        crop_size: int = 148,
        image_size: int = 64,
        **loader: Any,
    ) -> None:
        super().__init__(**loader)
        check_positive("crop_size", crop_size)
        check_positive("image_size", image_size)
        self.root = Path(root)
        self.download = download
        self.crop_size = crop_size
        self.image_size = image_size
        self.input_shape = (3, image_size, image_size)
        if not download:
            find_celeba(self.root)

    def prepare_data(self) -> None:
        if not self.download:
            return
        try:
            datasets.CelebA(str(self.root), split="all", target_type=[], download=True)
        except (ModuleNotFoundError, RuntimeError) as error:  # torchvision: gdown for Drive
            missing = error if isinstance(error, ModuleNotFoundError) else error.__context__
            if not (isinstance(missing, ModuleNotFoundError) and missing.name == "gdown"):
                raise
            raise MissingDependencyError(
                "data.download=true fetches CelebA from Google Drive through gdown, which is not "
                "installed: pip install gdown, or put a local copy under data.root (torchvision's "
                "or Kaggle's layout) and keep data.download=false"
            ) from None

    def build_splits(self) -> dict[str, Dataset]:
        images, rows = find_celeba(self.root)
        transform = transforms.Compose(
            [
                transforms.CenterCrop(self.crop_size),
                transforms.Resize(self.image_size),
                transforms.PILToTensor(),
            ]
        )
        return {
            split: ImageFiles(
                [images / name for name, partition in rows if partition == digit], "RGB", transform
            )
            for split, digit in PARTITIONS.items()
        }
