"""Exact resume of the newer levers (FSQ, LFQ, affine, orthogonal, CVQ re-init, curriculum)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_exact_resume import assert_same_training_state, train_in

TINY_NETS = [
    "model=vqvae_ste",
    "data.batch_size=16",
    "model.encoder.hidden_channels=[8]",
    "model.encoder.num_residual_blocks=1",
    "model.encoder.residual_channels=4",
    "model.encoder.latent_dim=4",
]
LEVERS = {
    "fsq": ["model/quantizer=fsq", "callbacks=plain", "model.quantizer.levels=[4,3]"],
    "lfq": ["model/quantizer=lfq", "callbacks=plain", "model.quantizer.codebook_size=8"],
    "bsq": ["model/quantizer=bsq", "callbacks=plain", "model.quantizer.codebook_size=8"],
    "affine": ["model/quantizer=affine", "callbacks=plain", "model.quantizer.codebook_size=16"],
    "orthogonal": [
        "model/quantizer=orthogonal",
        "callbacks=plain",
        "model.quantizer.quantizer.codebook_size=16",
    ],
    # a low sharpness so that codes move at every step around the cut
    "cvq": [
        "model/quantizer=ste",
        "callbacks=cvq",
        "model.quantizer.codebook_size=16",
        "callbacks.online_reinit.sharpness=0.1",
    ],
    "curriculum": [
        "model/quantizer=curriculum",
        "callbacks=curriculum",
        "model.quantizer.codebook_dim=4",
        "model.quantizer.initial_dims=1",
        "model.quantizer.quantizer.codebook_size=16",
        "callbacks.dimension_curriculum.steps=[2,7]",
        "callbacks.dimension_curriculum.sizes=[2,4]",
    ],
}


@pytest.mark.slow
@pytest.mark.parametrize("lever", sorted(LEVERS))
def test_every_new_lever_resumes_bit_identically(tmp_path: Path, lever: str) -> None:
    overrides = [*TINY_NETS, *LEVERS[lever]]
    straight = train_in(tmp_path / "straight", overrides)
    cut = straight / "steps" / "step=6.ckpt"  # batch 1 of 5 in epoch 1
    resumed = train_in(tmp_path / "resumed", [*overrides, f"ckpt_path='{cut}'"])
    assert_same_training_state(
        straight / "checkpoints" / "last.ckpt", resumed / "checkpoints" / "last.ckpt"
    )
