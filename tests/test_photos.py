"""data=photos: patches of real colour photographs, no pixel shared across splits."""

from __future__ import annotations

import importlib.resources
import importlib.util
import math

import numpy as np
import pytest
import torch
from conftest import compose_train_config
from PIL import Image

from vqlab.data import PhotosDataModule
from vqlab.data.patches import cut_patches
from vqlab.data.photo_sources import load_photo
from vqlab.errors import ConfigValueError
from vqlab.train import train

SPLITS = ("train", "val", "test")


@pytest.fixture(scope="module")
def photos_module() -> PhotosDataModule:
    module = PhotosDataModule(seed=3)
    module.setup()
    return module


def covered_pixels(module: PhotosDataModule, split: str) -> list[np.ndarray]:
    """Per photo, a boolean (h, w) mask of the pixels the split's patches cover."""
    shapes = [load_photo(name).shape[:2] for name in module.photos]
    masks = [np.zeros(shape, dtype=bool) for shape in shapes]
    part, size = module.patches[split], module.patch_size
    for photo, top, left in zip(
        part.photo.tolist(), part.top.tolist(), part.left.tolist(), strict=True
    ):
        masks[photo][top : top + size, left : left + size] = True
    return masks


def test_patches_are_the_pixels_of_the_photo_where_they_were_cut(photos_module):
    photos = [load_photo(name) for name in photos_module.photos]
    size = photos_module.patch_size
    for split in SPLITS:
        part = photos_module.patches[split]
        for row in torch.randperm(len(part.images), generator=torch.Generator().manual_seed(0))[
            :200
        ]:
            photo, top, left = int(part.photo[row]), int(part.top[row]), int(part.left[row])
            expected = photos[photo][top : top + size, left : left + size].transpose(2, 0, 1)
            assert np.array_equal(part.images[row].numpy(), expected)


def test_no_pixel_is_shared_across_splits(photos_module):
    masks = {split: covered_pixels(photos_module, split) for split in SPLITS}
    for first, second in (("train", "val"), ("train", "test"), ("val", "test")):
        for photo_first, photo_second in zip(masks[first], masks[second], strict=True):
            assert not np.any(photo_first & photo_second), (first, second)
    assert all(len(photos_module.patches[split].images) > 20 for split in SPLITS)
    # the training patches overlap one another (stride 8 < 32) yet stay off held-out pixels
    assert len(photos_module.patches["train"].images) > 16 * len(
        photos_module.patches["val"].images
    )


def test_splits_are_deterministic_per_seed_and_differ_between_seeds():
    first, again, other = (PhotosDataModule(seed=seed) for seed in (5, 5, 6))
    for module in (first, again, other):
        module.setup()
    for split in SPLITS:
        assert torch.equal(first.tensors[split][0], again.tensors[split][0])
        assert torch.equal(first.tensors[split][1], again.tensors[split][1])
    assert not torch.equal(first.patches["val"].top, other.patches["val"].top)


def test_colour_channels_are_red_green_blue_as_in_the_jpeg(photos_module):
    """A pixel of china.jpg read with PIL from the file scikit-learn ships, not through vqlab."""
    path = importlib.resources.files("sklearn.datasets") / "images" / "china.jpg"
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"))
    part = photos_module.patches["train"]
    row = int(torch.nonzero(part.photo == 0)[len(part.photo) // 4])  # a china patch
    top, left = int(part.top[row]), int(part.left[row])
    patch = rgb[top : top + 32, left : left + 32]
    y, x = np.unravel_index(np.argmax(np.abs(patch[..., 0].astype(int) - patch[..., 2])), (32, 32))
    red, green, blue = (int(value) for value in patch[y, x])
    assert abs(red - blue) > 10  # a pixel where swapping R and B would show
    assert part.images[row][:, y, x].tolist() == [red, green, blue]


def test_batches_are_float_rgb_patches_in_the_value_range_with_photo_labels():
    module = PhotosDataModule(patch_size=16, stride=16, value_range=(0.0, 1.0), batch_size=8)
    module.setup()
    images, labels = module.on_after_batch_transfer(next(iter(module.test_dataloader())), 0)
    assert images.shape == (8, 3, 16, 16) and images.dtype == torch.float32
    assert labels.dtype == torch.int64 and set(labels.tolist()) <= {0, 1}
    assert torch.allclose(images, module.tensors["test"][0][:8].float() / 255.0, atol=1e-6)
    assert module.tensors["train"][0].dtype == torch.uint8 and module.is_in_memory


def test_bad_photo_name_and_oversized_patch_are_config_errors():
    with pytest.raises(ConfigValueError, match="photos"):
        PhotosDataModule(photos=["moon_landing"]).setup()
    with pytest.raises(ConfigValueError, match="patch_size"):
        cut_patches([np.zeros((20, 40, 3), np.uint8)], patch_size=32)


@pytest.mark.skipif(importlib.util.find_spec("skimage") is None, reason="scikit-image missing")
def test_scikit_image_photos_are_rgb_uint8():
    photo = load_photo("astronaut")
    assert photo.shape == (512, 512, 3) and photo.dtype == np.uint8


@pytest.mark.slow
def test_the_default_vqvae_trains_and_tests_on_photos(tmp_path):
    cfg = compose_train_config(["data=photos", "debug=default"], tmp_path)
    metrics = train(cfg)
    assert math.isfinite(float(metrics["test/recon_mse"]))
