"""Patches cut from photographs so that train, val and test share no pixel.

Each photo is tiled into non-overlapping ``patch_size`` x ``patch_size`` tiles (the rows and
columns left over at the bottom and right edges are not used). The tiles of all photos together
are assigned to train / val / test by a seeded shuffle (``vqlab.data.splits.split_indices``).
Every val and test tile is one patch. Training patches are the windows at a ``stride`` grid that
lie wholly inside training tiles, so they overlap each other (more training patches) but never
touch a val or test pixel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from vqlab.data.splits import split_indices
from vqlab.errors import ConfigValueError, check_positive

SPLIT_NAMES = ("train", "val", "test")


@dataclass
class PatchSet:
    """Patches of one split and where each was cut: ``images[i] == photos[photo[i]][:, top[i] :
    top[i] + p, left[i] : left[i] + p]`` (channels first)."""

    images: Tensor  # (n, 3, p, p) uint8
    photo: Tensor  # (n,) int64 index into the photo list
    top: Tensor  # (n,) int64
    left: Tensor  # (n,) int64


def tile_splits(
    grids: Sequence[tuple[int, int]], val_fraction: float, test_fraction: float, seed: int
) -> list[Tensor]:
    """Per photo, a (rows, cols) tensor of split numbers (0 train, 1 val, 2 test) of its tiles."""
    total = sum(rows * cols for rows, cols in grids)
    labels = torch.zeros(total, dtype=torch.long)
    _, val, test = split_indices(total, val_fraction, test_fraction, seed)
    labels[val], labels[test] = 1, 2
    return [
        part.view(rows, cols)
        for part, (rows, cols) in zip(
            labels.split([rows * cols for rows, cols in grids]), grids, strict=True
        )
    ]


def windows(image: Tensor, positions: Tensor, patch_size: int) -> Tensor:
    """The (n, c, p, p) windows of ``image`` (c, h, w) whose corners are ``positions`` (n, 2)."""
    offsets = torch.arange(patch_size)
    rows = (positions[:, 0, None] + offsets)[:, None, :, None]  # (n, 1, p, 1)
    cols = (positions[:, 1, None] + offsets)[:, None, None, :]  # (n, 1, 1, p)
    channels = torch.arange(image.shape[0])[None, :, None, None]
    return image[channels, rows, cols]


def corners(split_map: Tensor, patch_size: int, stride: int) -> list[Tensor]:
    """Top-left corners (n, 2) of each split's patches on one photo's tile map (rows, cols)."""
    val_test = [torch.nonzero(split_map == split) * patch_size for split in (1, 2)]
    held_out = (split_map != 0).float().repeat_interleave(patch_size, 0)
    held_out = held_out.repeat_interleave(patch_size, 1)[None, None]  # (1, 1, H, W) pixel mask
    touches = F.max_pool2d(held_out, patch_size, stride)[0, 0]  # window at (i s, j s) hits val/test
    return [torch.nonzero(touches == 0) * stride, *val_test]


def cut_patches(
    photos: Sequence[np.ndarray],
    patch_size: int = 32,
    stride: int = 8,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
) -> dict[str, PatchSet]:
    """``{"train" | "val" | "test": PatchSet}`` from (h, w, 3) uint8 ``photos`` (see the module)."""
    check_positive("patch_size", patch_size)
    check_positive("stride", stride)
    smallest = min(min(photo.shape[:2]) for photo in photos)
    if patch_size > smallest:
        raise ConfigValueError(
            "patch_size", f"at most the smallest photo's side {smallest}", patch_size
        )
    grids = [(photo.shape[0] // patch_size, photo.shape[1] // patch_size) for photo in photos]
    parts: dict[str, list[tuple[Tensor, Tensor, Tensor]]] = {name: [] for name in SPLIT_NAMES}
    for index, (photo, split_map) in enumerate(
        zip(photos, tile_splits(grids, val_fraction, test_fraction, seed), strict=True)
    ):
        image = torch.from_numpy(np.array(photo, dtype=np.uint8)).permute(2, 0, 1)  # (3, h, w)
        for name, positions in zip(
            SPLIT_NAMES, corners(split_map, patch_size, stride), strict=True
        ):
            source = torch.full((len(positions),), index, dtype=torch.long)
            parts[name].append((windows(image, positions, patch_size), source, positions))
    sets = {}
    for name, chunks in parts.items():
        images, source, positions = (torch.cat(column) for column in zip(*chunks, strict=True))
        sets[name] = PatchSet(images, source, positions[:, 0], positions[:, 1])
    return sets
