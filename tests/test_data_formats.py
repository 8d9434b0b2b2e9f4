"""Image datamodules load files written in their real on-disk formats."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from fake_datasets import (
    write_celeba,
    write_cifar10,
    write_fashion_mnist,
    write_image_folder,
    write_mnist,
)

from vqlab.data import (
    CelebADataModule,
    CIFAR10DataModule,
    FashionMNISTDataModule,
    ImageFolderDataModule,
    MNISTDataModule,
)
from vqlab.errors import DatasetNotFoundError


def all_batches(datamodule, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Every batch of ``split`` as the model sees it (after the device-side scaling), stacked."""
    batches = [datamodule.on_after_batch_transfer(b, 0) for b in datamodule.loader(split)]
    return torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])


def scaled(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float() / 127.5 - 1.0


@pytest.mark.parametrize(
    ("datamodule_class", "writer"),
    [(MNISTDataModule, write_mnist), (FashionMNISTDataModule, write_fashion_mnist)],
)
def test_mnist_idx_files_load_with_official_test_split_and_seeded_val(
    tmp_path: Path, datamodule_class, writer
) -> None:
    written = writer(tmp_path, num_train=50, num_test=20)
    datamodule = datamodule_class(str(tmp_path), val_fraction=0.2, batch_size=16, seed=3)
    datamodule.setup("fit")
    assert {split: len(d) for split, d in datamodule.datasets.items()} == {
        "train": 40,
        "val": 10,
        "test": 20,
    }
    test_x, test_y = all_batches(datamodule, "test")
    assert test_x.shape == (20, 1, 28, 28) and test_x.dtype == torch.float32
    torch.testing.assert_close(test_x[:, 0], scaled(written["test"][0]))  # same map, rounding
    assert torch.equal(test_y, torch.from_numpy(written["test"][1]).long())
    train_x, _ = all_batches(datamodule, "train")
    val_x, _ = all_batches(datamodule, "val")
    assert train_x.min() >= -1.0 and train_x.max() <= 1.0
    # train and val partition the official training set
    # compared as the stored bytes: the scaling to [-1, 1] may round differently
    rows = ((torch.cat([train_x, val_x])[:, 0].flatten(1) + 1.0) * 127.5).round()
    expected = torch.from_numpy(written["train"][0]).float().flatten(1)
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, expected.tolist()))


def test_mnist_image_size_resizes_and_sets_input_shape(tmp_path: Path) -> None:
    write_mnist(tmp_path, num_train=10, num_test=4)
    datamodule = MNISTDataModule(str(tmp_path), image_size=32, batch_size=4)
    datamodule.setup("fit")
    assert datamodule.input_shape == (1, 32, 32)
    assert all_batches(datamodule, "val")[0].shape[1:] == (1, 32, 32)


def test_cifar10_pickle_batches_load_in_channel_first_order(tmp_path: Path) -> None:
    written = write_cifar10(tmp_path, per_batch=8, num_test=12)
    datamodule = CIFAR10DataModule(str(tmp_path), val_fraction=0.1, batch_size=5)
    datamodule.setup("fit")
    assert {split: len(d) for split, d in datamodule.datasets.items()} == {
        "train": 36,
        "val": 4,
        "test": 12,
    }
    test_x, test_y = all_batches(datamodule, "test")
    assert test_x.shape == (12, 3, 32, 32)
    torch.testing.assert_close(test_x, scaled(written["test"][0]).permute(0, 3, 1, 2))
    assert torch.equal(test_y, torch.from_numpy(written["test"][1]).long())


@pytest.mark.parametrize("layout", ["torchvision", "kaggle"])
def test_celeba_local_layouts_load_the_official_partition(tmp_path: Path, layout: str) -> None:
    entries = write_celeba(tmp_path, layout=layout, counts=(7, 3, 2))
    datamodule = CelebADataModule(str(tmp_path), batch_size=4, in_memory=False)
    datamodule.setup("fit")
    for split, digit in (("train", 0), ("val", 1), ("test", 2)):
        names = [name for name, part in entries if part == digit]
        assert [path.name for path in datamodule.datasets[split].paths] == names
    x, y = all_batches(datamodule, "train")
    assert x.shape == (7, 3, 64, 64) and (y == -1).all()
    assert x.min() >= -1.0 and x.max() <= 1.0 and x.std() > 0.1


def test_celeba_crop_and_image_size_are_configurable(tmp_path: Path) -> None:
    write_celeba(tmp_path, counts=(2, 1, 1))
    datamodule = CelebADataModule(str(tmp_path), crop_size=100, image_size=32, batch_size=2)
    datamodule.setup("fit")
    assert datamodule.input_shape == (3, 32, 32)
    assert all_batches(datamodule, "test")[0].shape == (1, 3, 32, 32)


def test_image_folder_finds_nested_images_and_splits_them(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "images", num=20)
    datamodule = ImageFolderDataModule(
        str(tmp_path / "images"), image_size=16, channels=1, val_fraction=0.1, test_fraction=0.2
    )
    datamodule.setup("fit")
    assert {split: len(d) for split, d in datamodule.datasets.items()} == {
        "train": 14,
        "val": 2,
        "test": 4,
    }
    assert all_batches(datamodule, "train")[0].shape == (14, 1, 16, 16)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda root: MNISTDataModule(root), "MNIST/raw"),
        (lambda root: FashionMNISTDataModule(root), "FashionMNIST/raw"),
        (lambda root: CIFAR10DataModule(root), "cifar-10-batches-py"),
        (lambda root: CelebADataModule(root), "img_align_celeba/img_align_celeba/*.jpg"),
    ],
)
def test_missing_dataset_names_where_and_how_to_fetch(tmp_path: Path, make, expected) -> None:
    with pytest.raises(DatasetNotFoundError) as error:
        make(str(tmp_path))
    message = str(error.value)
    assert "\n" not in message and str(tmp_path) in message and expected in message
    assert "data.download=true" in message


def test_incomplete_celeba_names_the_missing_images(tmp_path: Path) -> None:
    entries = write_celeba(tmp_path, layout="kaggle", counts=(3, 1, 1))
    (tmp_path / "img_align_celeba" / "img_align_celeba" / entries[2][0]).unlink()
    with pytest.raises(DatasetNotFoundError, match=f"1 of the 5 images.*{entries[2][0]}"):
        CelebADataModule(str(tmp_path))


def test_empty_image_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="image files"):
        ImageFolderDataModule(str(tmp_path))


def test_input_statistics_come_from_the_training_split(tmp_path: Path) -> None:
    write_mnist(tmp_path, num_train=30, num_test=5)
    datamodule = MNISTDataModule(str(tmp_path), val_fraction=0.2, in_memory=False)
    datamodule.setup("fit")
    assert datamodule.input_dim == math.prod((1, 28, 28))
    pixels = torch.cat([b[0] for b in datamodule.loader("train")]).flatten().long()
    p = torch.bincount(pixels, minlength=256).double() / len(pixels)
    p = p[p > 0]
    assert datamodule.input_entropy() == pytest.approx(float(-(p * p.log()).sum()))
