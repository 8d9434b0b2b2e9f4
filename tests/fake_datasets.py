"""Write tiny datasets in the exact on-disk formats that vqlab's datamodules read.

Reusable by any test (``from fake_datasets import write_mnist``) and by ``experiments/`` (run as
``python -m experiments.<name>`` from the repository root: ``from tests.fake_datasets import ...``).
Every writer fills images with seeded random pixels and returns what it wrote, so tests can
compare loaded values with written ones.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

CELEBA_SIZE = (178, 218)  # (width, height) of img_align_celeba
CIFAR_BATCHES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5")


def random_images(num: int, shape: Sequence[int], seed: int) -> np.ndarray:
    """``num`` uint8 images of ``shape`` with seeded uniform pixels."""
    return np.random.default_rng(seed).integers(0, 256, (num, *shape), dtype=np.uint8)


def write_idx(path: Path, array: np.ndarray) -> None:
    """An idx file (LeCun's MNIST format): magic ``0 0 0x08 ndim``, big-endian int32 sizes, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">i4").tobytes()
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_mnist(
    root: Path, num_train: int = 50, num_test: int = 20, folder: str = "MNIST", seed: int = 0
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Uncompressed idx files in ``root/<folder>/raw/`` (torchvision's MNIST layout).

    ``folder="FashionMNIST"`` gives Fashion-MNIST's layout. Returns ``{"train" | "test":
    (images (n, 28, 28) uint8, labels (n,) uint8)}``.
    """
    raw = Path(root) / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    written = {}
    for offset, (split, prefix, num) in enumerate(
        (("train", "train", num_train), ("test", "t10k", num_test))
    ):
        images = random_images(num, (28, 28), seed + offset)
        labels = np.arange(num, dtype=np.uint8) % 10
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
        written[split] = (images, labels)
    return written


def write_fashion_mnist(root: Path, **kwargs: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``write_mnist`` in Fashion-MNIST's folder ``root/FashionMNIST/raw/``."""
    return write_mnist(root, folder="FashionMNIST", **kwargs)


def write_cifar10(
    root: Path, per_batch: int = 10, num_test: int = 20, seed: int = 0
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """CIFAR-10's python pickles in ``root/cifar-10-batches-py/``: five training batches, a test
    batch and ``batches.meta``; each batch ``{"data": (n, 3072) uint8 row-major CHW, "labels"}``.

    Returns ``{"train" | "test": (images (n, 32, 32, 3) uint8 HWC, labels (n,))}``.
    """
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    names = [*CIFAR_BATCHES, "test_batch"]
    sizes = [per_batch] * len(CIFAR_BATCHES) + [num_test]
    batches = []
    for index, (name, num) in enumerate(zip(names, sizes, strict=True)):
        chw = random_images(num, (3, 32, 32), seed + index)
        labels = [int(i % 10) for i in range(num)]
        entry = {"batch_label": name, "data": chw.reshape(num, -1), "labels": labels}
        (folder / name).write_bytes(pickle.dumps(entry))
        batches.append((chw.transpose(0, 2, 3, 1), np.asarray(labels)))
    meta = {"label_names": [f"class_{i}" for i in range(10)], "num_cases_per_batch": per_batch}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))
    train = batches[: len(CIFAR_BATCHES)]
    return {
        "train": (np.concatenate([b[0] for b in train]), np.concatenate([b[1] for b in train])),
        "test": batches[-1],
    }


def write_images(folder: Path, names: Sequence[str], size: tuple[int, int], seed: int) -> None:
    """RGB images ``folder/<name>`` (format from the suffix) of ``size`` (width, height):
    gradients plus noise, so JPEG compression keeps them varied."""
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    for name in names:
        noise = rng.integers(0, 64, (height, width, 3))
        pixels = np.clip(ramp * rng.uniform(0.2, 1.0, 3) + noise, 0, 255).astype(np.uint8)
        Image.fromarray(pixels, "RGB").save(folder / name, quality=90)


def write_celeba(
    root: Path,
    layout: str = "torchvision",
    counts: tuple[int, int, int] = (12, 4, 4),
    size: tuple[int, int] = CELEBA_SIZE,
    seed: int = 0,
) -> list[tuple[str, int]]:
    """CelebA aligned JPEGs and the evaluation partition in one of the two layouts vqlab reads.

    ``torchvision``: ``root/celeba/img_align_celeba/`` + ``root/celeba/list_eval_partition.txt``
    (``000001.jpg 0`` lines); ``kaggle``: ``root/img_align_celeba/img_align_celeba/`` +
    ``root/list_eval_partition.csv`` (header ``image_id,partition``). ``counts`` are the train,
    validation and test sizes; the partitions are shuffled (seeded) rather than contiguous, so a
    loader that ignored the partition file would be caught. Returns ``(file name, partition)``.
    """
    partitions = [part for part, count in enumerate(counts) for _ in range(count)]
    np.random.default_rng(seed).shuffle(partitions)
    entries = [(f"{i + 1:06d}.jpg", int(part)) for i, part in enumerate(partitions)]
    root = Path(root)
    if layout == "torchvision":
        images, partition_file = root / "celeba" / "img_align_celeba", root / "celeba"
        lines = [f"{name} {part}" for name, part in entries]
        partition_file = partition_file / "list_eval_partition.txt"
    elif layout == "kaggle":
        images = root / "img_align_celeba" / "img_align_celeba"
        lines = ["image_id,partition"] + [f"{name},{part}" for name, part in entries]
        partition_file = root / "list_eval_partition.csv"
    else:
        raise ValueError(f"layout must be torchvision or kaggle, got {layout!r}")
    write_images(images, [name for name, _ in entries], size, seed)
    partition_file.write_text("\n".join(lines) + "\n")
    return entries


def write_image_folder(path: Path, num: int = 20, size: tuple[int, int] = (40, 30)) -> list[Path]:
    """``num`` PNG and JPEG images of ``size`` in nested folders under ``path``, and a text file."""
    path = Path(path)
    names = [
        f"{'a' if i % 2 else 'b/c'}/img_{i:03d}.{'png' if i % 3 else 'jpg'}" for i in range(num)
    ]
    for index, name in enumerate(names):
        write_images((path / name).parent, [Path(name).name], size, seed=index)
    (path / "notes.txt").write_text("not an image\n")
    return [path / name for name in names]
