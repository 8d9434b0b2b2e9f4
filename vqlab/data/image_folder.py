"""Any folder of images (searched recursively), e.g. a user's own photos: ``data=image_folder
data.path=...``. Images are resized (shorter side) and center-cropped to a square; train / val /
test are seeded fractions of the sorted file list. A file that cannot be decoded stops the run
with one line naming it; ``skip_unreadable=true`` decodes every file once at setup and leaves the
unreadable ones out (with a warning naming how many and the first)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset, Subset
from torchvision import transforms

from vqlab.data.image_datamodule import ImageDataModule
from vqlab.data.image_files import ImageFiles, find_images, readable_images
from vqlab.data.presence import dataset_not_found
from vqlab.data.splits import split_indices
from vqlab.errors import ConfigValueError, check_positive

MODES = {1: "L", 3: "RGB"}
log = logging.getLogger(__name__)


class ImageFolderDataModule(ImageDataModule):
    """Images under ``path`` as (channels, image_size, image_size) uint8; no labels (y = -1).

    ``loader``: ``ImageDataModule``'s keyword arguments (``batch_size``, ``num_workers``, ...).
    """

    def __init__(
        self,
        path: str,
        image_size: int = 64,
        channels: int = 3,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        skip_unreadable: bool = False,
        **loader: Any,
    ) -> None:
        super().__init__(**loader)
        check_positive("image_size", image_size)
        if channels not in MODES:
            raise ConfigValueError("channels", "1 (grey) or 3 (RGB)", channels)
        self.path = Path(path)
        self.image_size = image_size
        self.channels = channels
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        self.input_shape = (channels, image_size, image_size)
        self.skip_unreadable = skip_unreadable
        self.files = find_images(self.path) if self.path.is_dir() else []
        if not self.files:
            raise dataset_not_found(
                "image folder",
                f"image files (.jpg, .png, ...) under {self.path}",
                ["any nesting of image files under data.path"],
                downloadable=False,
                key="data.path",
            )

    def build_splits(self) -> dict[str, Dataset]:
        transform = transforms.Compose(
            [
                transforms.Resize(self.image_size),
                transforms.CenterCrop(self.image_size),
                transforms.PILToTensor(),
            ]
        )
        files = self.files
        if self.skip_unreadable:
            files = readable_images(self.files)
            skipped = sorted(set(self.files) - set(files))
            if skipped:
                log.warning("skipped %d unreadable image files (%s, ...)", len(skipped), skipped[0])
        images = ImageFiles(files, MODES[self.channels], transform)
        rows = split_indices(len(images), self.val_fraction, self.test_fraction, self.seed)
        return {
            split: Subset(images, split_rows.tolist())
            for split, split_rows in zip(("train", "val", "test"), rows, strict=True)
        }
