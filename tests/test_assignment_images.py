"""The assignment heat map and masks: ordered rows, real pixel values, PNGs from a real run."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from conftest import quiet_trainer
from PIL import Image

from vqlab.callbacks import AssignmentImages
from vqlab.callbacks.assignment_images import category_masks, feature_order
from vqlab.data import GroupedFeaturesDataModule
from vqlab.errors import ConfigValueError
from vqlab.models import LearnableVQVAE
from vqlab.nets import CategoryEncoders, MLPDecoder
from vqlab.quantizers import EMAQuantizer, SoftAssignment


def test_rows_are_ordered_by_hard_category_then_by_confidence() -> None:
    torch.manual_seed(0)
    probabilities = torch.randn(40, 5).mul(3).softmax(-1)
    ordered = probabilities[feature_order(probabilities)]
    confidence, category = ordered.max(-1)
    assert (category.diff() >= 0).all()
    same = category[1:] == category[:-1]
    assert (confidence.diff()[same] <= 0).all()
    assert sorted(feature_order(probabilities).tolist()) == list(range(40))


def test_masks_hold_each_categorys_column_as_an_image() -> None:
    probabilities = torch.rand(12, 3).softmax(-1)  # D = 3 x 4 pixels
    masks = category_masks(probabilities, [1, 3, 4])
    assert masks.shape == (1, 3, 3 * 5 - 1)
    for k in range(3):
        tile = masks[0, :, 5 * k : 5 * k + 4]
        assert torch.equal(tile, probabilities[:, k].reshape(3, 4))
    assert (masks[0, :, 4] == 0.5).all()  # the separator


def make_model(num_features: int, num_categories: int) -> LearnableVQVAE:
    return LearnableVQVAE(
        SoftAssignment(num_features, num_categories),
        CategoryEncoders(num_categories, num_features, hidden_features=[8], latent_dim=2),
        partial(EMAQuantizer, codebook_size=8, dim=2),
        MLPDecoder([num_features], hidden_features=[8], latent_dim=2, num_latents=num_categories),
        partial(torch.optim.Adam, lr=1e-2),
        assignment_lr=0.05,
    )


@pytest.mark.parametrize("mask_shape", [None, [1, 4, 4]])
def test_a_run_writes_non_blank_heat_maps_every_n_epochs_and_at_the_end(
    tmp_path: Path, mask_shape: list[int] | None
) -> None:
    L.seed_everything(0, verbose=False)
    data = GroupedFeaturesDataModule(
        num_features=16, num_groups=4, num_samples=256, batch_size=64, seed=0
    )
    model = make_model(16, 4)
    trainer = quiet_trainer(
        default_root_dir=tmp_path,
        max_epochs=4,
        limit_val_batches=0,
        callbacks=[AssignmentImages(every_n_epochs=2, mask_shape=mask_shape)],
    )
    trainer.fit(model, datamodule=data)
    heatmaps = sorted(p.name for p in (tmp_path / "assignment_heatmap").glob("*.png"))
    assert heatmaps == ["epoch_001.png", "epoch_003.png", "final.png"]
    pixels = np.asarray(Image.open(tmp_path / "assignment_heatmap" / "final.png"))
    assert pixels.std() > 10  # a drawn picture, not a blank one
    if mask_shape is None:
        assert not (tmp_path / "assignment_masks").exists()
        return
    masks = np.asarray(Image.open(tmp_path / "assignment_masks" / "final.png"))[..., 0]
    expected = category_masks(model.assignment.probabilities().detach(), mask_shape)[0]
    factor = masks.shape[0] // 4  # nearest-neighbour enlargement
    assert masks.shape == (4 * factor, expected.shape[1] * factor)
    np.testing.assert_allclose(masks[::factor, ::factor], expected.mul(255).round().numpy(), atol=1)


def test_a_mask_shape_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    callback = AssignmentImages(mask_shape=[1, 5, 5])
    with pytest.raises(ConfigValueError, match="mask_shape"):
        callback.on_fit_start(L.Trainer(default_root_dir=tmp_path), make_model(16, 4))
