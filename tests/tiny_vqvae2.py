"""A VQ-VAE-2 small enough for unit tests, and codebooks seeded from its own latents."""

from __future__ import annotations

import functools

import torch

from vqlab.models import VQVAE2
from vqlab.nets import TwoLevelConvDecoder, TwoLevelConvEncoder
from vqlab.quantizers import EMAQuantizer, VectorQuantizer

LATENT_DIM = 4


def tiny_vqvae2(
    size: int = 8, bottom_stages: int = 1, top_stages: int = 1, codes: tuple[int, int] = (8, 12)
) -> VQVAE2:
    """Two levels of width 8, codes of 4 entries; ``codes`` = (top K, bottom K)."""
    nets = {
        "channels": 8,
        "bottom_stages": bottom_stages,
        "top_stages": top_stages,
        "latent_dim": LATENT_DIM,
        "num_residual_blocks": 1,
        "residual_channels": 4,
    }
    return VQVAE2(
        encoder=TwoLevelConvEncoder(input_shape=(1, size, size), **nets),
        top_quantizer=EMAQuantizer(codes[0], LATENT_DIM, decay=0.9),
        bottom_quantizer=EMAQuantizer(codes[1], LATENT_DIM, decay=0.9),
        decoder=TwoLevelConvDecoder(output_shape=(1, size, size), **nets),
        optimizer=functools.partial(torch.optim.SGD, lr=0.05),
    )


def seed_codebook(quantizer: VectorQuantizer, z_e: torch.Tensor) -> None:
    """Codes = the first K latent vectors (as k-means++ would start), so many codes are chosen."""
    flat = z_e.detach().reshape(-1, quantizer.dim)
    quantizer.replace_codes(torch.arange(quantizer.codebook_size), flat[: quantizer.codebook_size])


@torch.no_grad()
def seed_both_codebooks(model: VQVAE2, x: torch.Tensor) -> None:
    """Seed the top codebook from ``h_top``, then the bottom one from ``h_bottom`` given it."""
    features, h_top = model.encoder.encode_top(x)
    seed_codebook(model.top_quantizer, h_top)
    e_top = model.top_quantizer.decode(model.top_quantizer.encode(h_top))
    seed_codebook(model.bottom_quantizer, model.encoder.encode_bottom(features, e_top))
