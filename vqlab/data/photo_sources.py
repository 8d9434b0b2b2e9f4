"""Colour photographs that ship inside installed packages, by name, as (h, w, 3) uint8 RGB arrays.

scikit-learn (a core dependency): ``china`` and ``flower`` (``sklearn.datasets.load_sample_image``,
427 x 640 each). scikit-image (the ``photos`` extra): ``astronaut`` (512 x 512), ``coffee``
(400 x 600), ``chelsea`` (300 x 451), ``rocket`` (427 x 640), ``motorcycle`` (the left view of
``stereo_motorcycle``, 500 x 741), ``hubble_deep_field`` (872 x 1000), ``retina`` (1411 x 1411),
``immunohistochemistry`` (512 x 512).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np
from sklearn.datasets import load_sample_image

from vqlab.errors import ConfigValueError, MissingDependencyError

SKLEARN_PHOTOS = ("china", "flower")
SKIMAGE_PHOTOS = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "motorcycle",
    "hubble_deep_field",
    "retina",
    "immunohistochemistry",
)
PHOTO_NAMES = SKLEARN_PHOTOS + SKIMAGE_PHOTOS


def skimage_loader(name: str) -> Callable[[], np.ndarray]:
    """``skimage.data``'s loader of the photo ``name`` (``MissingDependencyError`` without it)."""
    try:
        skimage_data = importlib.import_module("skimage.data")
    except ImportError:
        raise MissingDependencyError(
            f"the photo {name!r} ships with scikit-image: pip install 'vqlab[photos]'"
        ) from None
    if name == "motorcycle":
        return lambda: skimage_data.stereo_motorcycle()[0]
    return getattr(skimage_data, name)


def load_photo(name: str) -> np.ndarray:
    """The photo ``name`` (one of ``PHOTO_NAMES``) as an (h, w, 3) uint8 RGB array."""
    if name in SKLEARN_PHOTOS:
        photo = load_sample_image(f"{name}.jpg")
    elif name in SKIMAGE_PHOTOS:
        photo = skimage_loader(name)()
    else:
        raise ConfigValueError("photos", f"names from {list(PHOTO_NAMES)}", name)
    return np.ascontiguousarray(photo[..., :3], dtype=np.uint8)
