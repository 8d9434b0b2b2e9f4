"""Real colour photographs, embedded: patches of the photos that ship with scikit-learn (and, with
the ``photos`` extra, scikit-image), no download.

Train / val / test are disjoint regions of each photograph: every photo is tiled into
``patch_size`` tiles, the tiles are dealt to the splits by seed, and no training patch touches a
val or test pixel (``vqlab.data.patches``). Why regions and not whole held-out photographs: the
default set has two photos, too few to hold one out per split, and a held-out photo would measure
the jump to a new scene more than reconstruction quality; region splits put every photo's colours
and textures in every split. The price: a val tile borders training tiles of the same scene, so
val / test measure reconstruction of unseen pixels of seen photographs.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch.utils.data import Dataset, TensorDataset

from vqlab.data.image_datamodule import ImageDataModule
from vqlab.data.patches import PatchSet, cut_patches
from vqlab.data.photo_sources import SKLEARN_PHOTOS, load_photo


class PhotosDataModule(ImageDataModule):
    """(x, y) batches: ``x`` RGB patches (b, 3, p, p) in ``value_range``, ``y`` the index of the
    photo in ``photos`` each patch was cut from.

    Device-resident always (the patches of the default photos take ~13 MB as uint8): decoded once
    into uint8 tensors on the training device and batched by index there, training order seeded
    per (seed, epoch) and resumable mid-epoch (``ImageDataModule``). ``stride``: spacing of the
    training patches (overlapping when < ``patch_size``); val and test patches are the held-out
    tiles, one patch each. ``patches`` holds every split's ``PatchSet`` (where each patch was cut)
    after ``setup``.
    """

    def __init__(
        self,
        photos: Sequence[str] = SKLEARN_PHOTOS,
        patch_size: int = 32,
        stride: int = 8,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        batch_size: int = 64,
        seed: int = 0,
        value_range: Sequence[float] = (-1.0, 1.0),
    ) -> None:
        super().__init__(batch_size, in_memory="true", seed=seed, value_range=value_range)
        self.photos = list(photos)
        self.patch_size = patch_size
        self.stride = stride
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        self.input_shape = (3, patch_size, patch_size)
        self.patches: dict[str, PatchSet] = {}

    def build_splits(self) -> dict[str, Dataset]:
        self.patches = cut_patches(
            [load_photo(name) for name in self.photos],
            self.patch_size,
            self.stride,
            self.val_fraction,
            self.test_fraction,
            self.seed,
        )
        return {
            split: TensorDataset(part.images, part.photo) for split, part in self.patches.items()
        }
