"""A dataset over a list of image files (CelebA's JPEGs, any folder of images)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset
from torchvision.datasets.folder import IMG_EXTENSIONS

UNLABELLED = -1


def find_images(folder: Path) -> list[Path]:
    """Image files (torchvision's ``IMG_EXTENSIONS``) under ``folder``, recursively, sorted."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in IMG_EXTENSIONS and path.is_file()
    )


class ImageFiles(Dataset):
    """Item i: ``(transform(image i converted to mode), -1)`` (no labels).

    ``mode`` is a PIL mode (``RGB``, ``L``); ``transform`` maps the PIL image to a uint8 tensor.
    """

    def __init__(
        self, paths: Sequence[Path], mode: str, transform: Callable[[Image.Image], Tensor]
    ) -> None:
        self.paths = list(paths)
        self.mode = mode
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        with Image.open(self.paths[index]) as image:
            return self.transform(image.convert(self.mode)), UNLABELLED
