"""A dataset over a list of image files (CelebA's JPEGs, any folder of images).

A file PIL cannot decode (empty, truncated, not an image despite its extension) is an
``UnreadableImageError`` naming the file; ``readable_images`` finds the files to keep instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from torch import Tensor
from torch.utils.data import Dataset
from torchvision.datasets.folder import IMG_EXTENSIONS

from vqlab.errors import UnreadableImageError

UNLABELLED = -1
# what PIL raises for a file it cannot decode: unidentified (OSError), truncated (OSError),
# a broken PNG chunk (SyntaxError), a bad header field (ValueError)
DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError)


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
        path = self.paths[index]
        try:
            with Image.open(path) as image:
                return self.transform(image.convert(self.mode)), UNLABELLED
        except DECODE_ERRORS as error:
            raise UnreadableImageError(
                f"image file {path} cannot be read ({type(error).__name__}: {error}): remove it, "
                "or pass data.skip_unreadable=true to skip unreadable files"
            ) from None


def readable_images(paths: Sequence[Path]) -> list[Path]:
    """The files of ``paths`` that PIL decodes completely (each is decoded once)."""
    readable = []
    for path in paths:
        try:
            with Image.open(path) as image:
                image.load()
        except DECODE_ERRORS:
            continue
        readable.append(path)
    return readable
