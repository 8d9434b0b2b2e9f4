"""From a random start, the random-start recipe finds the planted groups of a small table.

Not met yet (issue 23): measured at 10 epochs, ARI 0.383 / 0.353 / 0.437 (seeds 0 / 1 / 2) with
the recipe, 0.737 / 0.737 / -0.024 with the seed's losses; the test is a strict xfail, so it fails
loudly (XPASS) the day a recipe passes it, and ``xfail`` must go.
"""

from __future__ import annotations

from functools import partial

import lightning as L
import pytest
import torch
from sklearn.metrics import adjusted_rand_score

from vqlab.callbacks import TemperatureAnnealing
from vqlab.data import GroupedFeaturesDataModule
from vqlab.models import LearnableVQVAE
from vqlab.nets import CategoryEncoders, MLPDecoder
from vqlab.quantizers import EMAQuantizer, SoftAssignment
from vqlab.regularizers import AssignmentLosses, CategoryReconstruction

D, K = 12, 3


def recipe_model(category_recon: bool) -> LearnableVQVAE:
    """``model=learnable_vq_random`` at D = 12, K = 3 (or the seed's losses, without the term)."""
    losses = AssignmentLosses(
        orthogonality_weight=3.0, category_recon=CategoryReconstruction(K, 2, D)
    )
    if not category_recon:
        losses = AssignmentLosses()
    return LearnableVQVAE(
        SoftAssignment(D, K),
        CategoryEncoders(K, D, hidden_features=[16], latent_dim=2),
        partial(EMAQuantizer, codebook_size=16, dim=2),
        MLPDecoder([D], hidden_features=[32], latent_dim=2, num_latents=K),
        partial(torch.optim.Adam, lr=2e-3),
        losses,
        assignment_lr=3e-3,
    )


def random_start_ari(seed: int, category_recon: bool) -> float:
    L.seed_everything(seed, verbose=False)
    data = GroupedFeaturesDataModule(
        num_features=D, num_groups=K, noise=0.3, num_samples=2000, batch_size=64, seed=seed
    )
    model = recipe_model(category_recon)
    trainer = L.Trainer(
        max_epochs=EPOCHS,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        callbacks=[TemperatureAnnealing(1.0, 0.05, "linear")],
    )
    trainer.fit(model, datamodule=data)
    return adjusted_rand_score(data.groups.numpy(), model.assignment.hard_assignment().numpy())


EPOCHS = 10


@pytest.mark.slow  # ~30 s alone, a minute on a loaded machine
@pytest.mark.xfail(strict=True, reason="issue 23: no random-start recipe reaches ARI 0.9 yet")
@pytest.mark.parametrize("seed", [0])
def test_random_start_recovers_the_planted_groups_of_a_small_table(seed: int) -> None:
    assert random_start_ari(seed, category_recon=True) >= 0.9
