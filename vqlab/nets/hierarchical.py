"""Two-level convolutional encoder and decoder of the hierarchical VQ-VAE-2.

Razavi et al., "Generating Diverse High-Fidelity Images with VQ-VAE-2", 2019, arXiv:1906.00446,
Sec. 3.1, Fig. 2a and Algorithm 1::

    h_top    = E_top(x)                    top grid:    2^(bottom_stages + top_stages) smaller
    e_top    = Quantize_top(h_top)
    h_bottom = E_bottom(x, e_top)          bottom grid: 2^bottom_stages smaller
    e_bottom = Quantize_bottom(h_bottom)
    x_hat    = D(e_top, e_bottom)

``E_bottom(x, e_top)`` decodes ``e_top`` up to the bottom grid and concatenates it with the bottom
features before a 1x1 projection (the bottom level encodes what the top level misses); ``D``
upsamples ``e_top`` to the bottom grid and decodes both maps together. Each level is a stack of
stride-2 4x4 convolutions (ReLU after each), a 3x3 convolution and residual blocks ("ReLU, 3x3
conv, ReLU, 1x1 conv", vqlab.nets.residual); decoders mirror it with transposed convolutions.
The paper's 256x256 network has ``bottom_stages = 2`` (/4) and ``top_stages = 1`` (/8).

Deviation: one ``latent_dim`` for both levels' codes (the paper's reference uses 64 for both),
and one ``channels`` width for every level; the earlier of several stride-2 stages (and the later
of several transposed ones) use ``channels // 2`` as in the paper's reference network.
Latents enter and leave channels-last, ``(b, h, w, d)``, so a quantizer sees ``(..., d)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from einops import rearrange
from torch import Tensor, nn

from vqlab.errors import ConfigValueError, check_positive
from vqlab.nets.conv import OUTPUT_ACTIVATIONS
from vqlab.nets.residual import residual_stack


def check_two_level_shape(input_shape: Sequence[int], bottom_stages: int, top_stages: int) -> None:
    """(C, H, W) images whose H and W are multiples of 2^(bottom_stages + top_stages).

    A multiple is at least the factor itself, so the top grid is at least 1x1. An input too small
    for the stages names the key to lower, ``bottom_stages`` (else ``top_stages``), and its bound.
    """
    for name, stages in (("bottom_stages", bottom_stages), ("top_stages", top_stages)):
        if not (isinstance(stages, int) and stages >= 1):
            raise ConfigValueError(name, "an integer >= 1 (stride-2 stages of the level)", stages)
    if len(input_shape) != 3:
        raise ConfigValueError(
            "input_shape",
            "(channels, height, width) for a convolutional net; use an MLP model for vectors",
            list(input_shape),
        )
    height, width = input_shape[1], input_shape[2]
    common = math.gcd(height, width)
    twos = (common & -common).bit_length() - 1  # the largest power of 2 dividing H and W
    if bottom_stages + top_stages <= twos:
        return
    rule = f"for {height}x{width} inputs (2^(bottom_stages + top_stages) must divide both)"
    if twos - top_stages >= 1:
        raise ConfigValueError(
            "bottom_stages",
            f"<= {twos - top_stages} with top_stages = {top_stages} {rule}",
            bottom_stages,
        )
    if twos >= 2:
        raise ConfigValueError("top_stages", f"<= {twos - 1} {rule}", top_stages)
    raise ConfigValueError(
        "input_shape",
        "(channels, height, width) with height and width divisible by 4",
        list(input_shape),
    )


def downsampling_stack(
    in_channels: int, channels: int, stages: int, num_blocks: int, residual_channels: int
) -> nn.Sequential:
    """``stages`` stride-2 4x4 convolutions (ReLU after each), a 3x3 convolution, residual stack."""
    layers: list[nn.Module] = []
    for stage in range(stages):
        out_channels = channels if stage == stages - 1 else channels // 2
        layers += [nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1), nn.ReLU()]
        in_channels = out_channels
    layers.append(nn.Conv2d(channels, channels, kernel_size=3, padding=1))
    layers.append(residual_stack(channels, residual_channels, num_blocks))
    return nn.Sequential(*layers)


def upsampling_stack(
    in_channels: int,
    channels: int,
    out_channels: int,
    stages: int,
    num_blocks: int,
    residual_channels: int,
) -> nn.Sequential:
    """A 3x3 convolution, residual blocks, ``stages`` stride-2 4x4 transposed convolutions."""
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, channels, kernel_size=3, padding=1),
        residual_stack(channels, residual_channels, num_blocks),
    ]
    for stage in range(stages):
        last = stage == stages - 1
        stage_out = out_channels if last else channels // 2
        layers.append(
            nn.ConvTranspose2d(channels if stage == 0 else channels // 2, stage_out, 4, 2, 1)
        )
        if not last:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class TwoLevelConvEncoder(nn.Module):
    """``encode_top``: x -> (features, h_top); ``encode_bottom``: (features, e_top) -> h_bottom.

    x (b, c, H, W); features (b, channels, H / 2^B, W / 2^B) with B = ``bottom_stages``;
    h_top (b, H / 2^(B+T), W / 2^(B+T), latent_dim) with T = ``top_stages``;
    h_bottom (b, H / 2^B, W / 2^B, latent_dim).
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        channels: int = 64,
        bottom_stages: int = 2,
        top_stages: int = 1,
        latent_dim: int = 64,
        num_residual_blocks: int = 2,
        residual_channels: int = 32,
    ) -> None:
        super().__init__()
        check_two_level_shape(input_shape, bottom_stages, top_stages)
        check_positive("channels", channels)
        check_positive("latent_dim", latent_dim)
        blocks = (num_residual_blocks, residual_channels)
        self.bottom_features = downsampling_stack(input_shape[0], channels, bottom_stages, *blocks)
        self.top_encoder = nn.Sequential(
            downsampling_stack(channels, channels, top_stages, *blocks),
            nn.Conv2d(channels, latent_dim, kernel_size=1),
        )
        # E_bottom's view of the top code: e_top decoded up to the bottom grid
        self.top_decoder = upsampling_stack(latent_dim, channels, latent_dim, top_stages, *blocks)
        self.bottom_projection = nn.Conv2d(channels + latent_dim, latent_dim, kernel_size=1)

    def encode_top(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Bottom features (channels first) and the top latents h_top (channels last)."""
        features = self.bottom_features(x)  # (b, channels, h_b, w_b)
        return features, rearrange(self.top_encoder(features), "b d h w -> b h w d")

    def encode_bottom(self, features: Tensor, e_top: Tensor) -> Tensor:
        """h_bottom = proj([features, decode_top(e_top)]), channels last; e_top (b, h_t, w_t, d)."""
        top_view = self.top_decoder(rearrange(e_top, "b h w d -> b d h w"))  # (b, d, h_b, w_b)
        joined = torch.cat([features, top_view], dim=1)
        return rearrange(self.bottom_projection(joined), "b d h w -> b h w d")


class TwoLevelConvDecoder(nn.Module):
    """D(e_top, e_bottom): e_top upsampled to the bottom grid, joined to e_bottom, decoded to x_hat.

    e_bottom (b, h_b, w_b, latent_dim), e_top (b, h_b / 2^T, w_b / 2^T, latent_dim)
    -> x_hat (b, c, h_b 2^B, w_b 2^B), through ``output_activation`` (``tanh`` for [-1, 1]).
    """

    def __init__(
        self,
        output_shape: Sequence[int],
        channels: int = 64,
        bottom_stages: int = 2,
        top_stages: int = 1,
        latent_dim: int = 64,
        num_residual_blocks: int = 2,
        residual_channels: int = 32,
        output_activation: str = "tanh",
    ) -> None:
        super().__init__()
        check_two_level_shape(output_shape, bottom_stages, top_stages)
        if output_activation not in OUTPUT_ACTIVATIONS:
            raise ConfigValueError(
                "output_activation", f"one of {list(OUTPUT_ACTIVATIONS)}", output_activation
            )
        upsample: list[nn.Module] = []
        for stage in range(top_stages):
            if stage:
                upsample.append(nn.ReLU())
            upsample.append(nn.ConvTranspose2d(latent_dim, latent_dim, 4, stride=2, padding=1))
        self.upsample_top = nn.Sequential(*upsample)
        self.net = nn.Sequential(
            upsampling_stack(
                2 * latent_dim,
                channels,
                output_shape[0],
                bottom_stages,
                num_residual_blocks,
                residual_channels,
            ),
            OUTPUT_ACTIVATIONS[output_activation](),
        )

    def forward(self, e_bottom: Tensor, e_top: Tensor) -> Tensor:
        top = self.upsample_top(rearrange(e_top, "b h w d -> b d h w"))
        joined = torch.cat([rearrange(e_bottom, "b h w d -> b d h w"), top], dim=1)
        return self.net(joined)
