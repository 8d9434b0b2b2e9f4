"""The codebook callbacks (k-means init, dead-code respawn) serve both levels of a VQ-VAE-2."""

from __future__ import annotations

import torch
from codebook_harness import stand_in_trainer
from tiny_vqvae2 import tiny_vqvae2

from vqlab.callbacks import DeadCodeRespawn, KMeansInit
from vqlab.callbacks.codebooks import codebook_quantizers

LEVELS = ("top", "bottom")  # the codebooks' display names (attributes <name>_quantizer)


def batches(count: int = 3) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return [torch.randn(16, 1, 8, 8, generator=generator) for _ in range(count)]


@torch.no_grad()
def level_inputs(model) -> dict[str, torch.Tensor]:
    """Each level's quantizer inputs over ``batches()``, in eval mode: (n, d) per level."""
    model.eval()
    inputs: dict[str, list[torch.Tensor]] = {name: [] for name in LEVELS}
    for x in batches():
        features, h_top = model.encoder.encode_top(x)
        e_top = model.top_quantizer.decode(model.top_quantizer.encode(h_top))
        inputs["top"].append(h_top.flatten(0, -2))
        inputs["bottom"].append(model.encoder.encode_bottom(features, e_top).flatten(0, -2))
    return {name: torch.cat(parts) for name, parts in inputs.items()}


def distortion(z: torch.Tensor, codebook: torch.Tensor) -> float:
    """Mean squared distance of the vectors to their nearest code."""
    return float(torch.cdist(z, codebook).min(-1).values.pow(2).mean())


def test_both_levels_are_found_by_the_codebook_callbacks() -> None:
    assert list(codebook_quantizers(tiny_vqvae2())) == list(LEVELS)


def test_kmeans_init_fits_each_level_to_its_own_inputs() -> None:
    torch.manual_seed(0)
    model = tiny_vqvae2(codes=(6, 10))
    before = {name: getattr(model, f"{name}_quantizer").codebook.clone() for name in LEVELS}
    inputs_before = level_inputs(model)

    KMeansInit(num_batches=3, iterations=10, seed=0).on_train_start(
        stand_in_trainer(batches()), model
    )

    inputs = level_inputs(model)  # the bottom level's inputs depend on the new top codebook
    for name in LEVELS:
        codebook = getattr(model, f"{name}_quantizer").codebook
        assert distortion(inputs[name], codebook) < 0.2 * distortion(
            inputs_before[name], before[name]
        ), name
        used = torch.cdist(inputs[name], codebook).argmin(-1).unique().numel()
        assert used >= getattr(model, f"{name}_quantizer").codebook_size - 1, name


def test_respawn_replaces_the_dead_codes_of_each_level_with_that_levels_inputs() -> None:
    torch.manual_seed(0)
    model = tiny_vqvae2(codes=(6, 10)).train()
    callback = DeadCodeRespawn(every_n_steps=1, threshold=1)
    callback.setup(None, model, "fit")
    for x in batches():
        model(x)
    for name in LEVELS:
        quantizer = getattr(model, f"{name}_quantizer")
        dead = (callback.windows[name].histogram < 1).nonzero().squeeze(1)
        assert dead.numel() > 0, name  # random codebooks: most codes of both levels are dead
        latest = callback.windows[name].latest.clone()
        grid = 2 if name == "top" else 4
        assert latest.shape == (16 * grid * grid, quantizer.dim)  # this level's own inputs

        replaced = callback.respawn(name, quantizer, stand_in_trainer([]))

        assert replaced == dead.numel()
        new = quantizer.codebook[dead]
        assert torch.all((new.unsqueeze(1) == latest.unsqueeze(0)).all(-1).any(-1)), name
