"""Convolutional encoder and decoder for images, as in the VQ-VAE paper.

van den Oord et al., "Neural Discrete Representation Learning", 2017, arXiv:1711.00937, Sec. 4.1:
strided 4x4 convolutions (stride 2) halve the resolution, then residual blocks; the decoder
mirrors it with transposed convolutions. Latents leave the encoder channels-last, ``(b, h, w, d)``,
so a quantizer sees ``(..., d)``.
"""

from __future__ import annotations

from collections.abc import Sequence

from einops import rearrange
from torch import Tensor, nn

from vqlab.errors import ConfigValueError, check_positive
from vqlab.nets.residual import residual_stack

OUTPUT_ACTIVATIONS = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "identity": nn.Identity}


def check_image_shape(input_shape: Sequence[int], num_downsamplings: int) -> None:
    """Images are (C, H, W) with H and W divisible by 2 ** num_downsamplings."""
    if len(input_shape) != 3:
        raise ConfigValueError(
            "input_shape",
            "(channels, height, width) for conv nets; vectors need MLP nets: model=vqvae_mlp",
            list(input_shape),
        )
    factor = 2**num_downsamplings
    if input_shape[1] % factor or input_shape[2] % factor:
        raise ConfigValueError(
            "input_shape",
            f"divisible by 2^{num_downsamplings} = {factor} in height and width",
            list(input_shape),
        )


class ConvEncoder(nn.Module):
    """x (b, c, H, W) -> z_e (b, H / 2^L, W / 2^L, latent_dim), L = len(hidden_channels).

    L strided 4x4 convolutions (ReLU between), a 3x3 convolution, ``num_residual_blocks`` residual
    blocks, and a 1x1 projection to ``latent_dim`` channels.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        hidden_channels: Sequence[int] = (64, 128),
        latent_dim: int = 64,
        num_residual_blocks: int = 2,
        residual_channels: int = 32,
    ) -> None:
        super().__init__()
        check_image_shape(input_shape, len(hidden_channels))
        check_positive("latent_dim", latent_dim)
        layers: list[nn.Module] = []
        channels = input_shape[0]
        for index, out_channels in enumerate(hidden_channels):
            if index > 0:
                layers.append(nn.ReLU())
            layers.append(nn.Conv2d(channels, out_channels, kernel_size=4, stride=2, padding=1))
            channels = out_channels
        layers.append(nn.Conv2d(channels, channels, kernel_size=3, padding=1))
        layers.append(residual_stack(channels, residual_channels, num_residual_blocks))
        layers.append(nn.Conv2d(channels, latent_dim, kernel_size=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return rearrange(self.net(x), "b d h w -> b h w d")


class ConvDecoder(nn.Module):
    """z_q (b, h, w, latent_dim) -> x_hat (b, c, h 2^L, w 2^L); mirror of ``ConvEncoder``.

    A 3x3 convolution, residual blocks, then L transposed 4x4 convolutions (stride 2) through the
    encoder's ``hidden_channels`` in reverse order, the last one to the image channels, and the
    output activation (``tanh`` for images scaled to [-1, 1]).
    """

    def __init__(
        self,
        output_shape: Sequence[int],
        hidden_channels: Sequence[int] = (64, 128),
        latent_dim: int = 64,
        num_residual_blocks: int = 2,
        residual_channels: int = 32,
        output_activation: str = "tanh",
    ) -> None:
        super().__init__()
        check_image_shape(output_shape, len(hidden_channels))
        if output_activation not in OUTPUT_ACTIVATIONS:
            raise ConfigValueError(
                "output_activation", f"one of {list(OUTPUT_ACTIVATIONS)}", output_activation
            )
        reversed_channels = list(reversed(hidden_channels))
        channels = reversed_channels[0]
        layers: list[nn.Module] = [
            nn.Conv2d(latent_dim, channels, kernel_size=3, padding=1),
            residual_stack(channels, residual_channels, num_residual_blocks),
        ]
        for out_channels in [*reversed_channels[1:], output_shape[0]]:
            layers.append(nn.ConvTranspose2d(channels, out_channels, 4, stride=2, padding=1))
            layers.append(nn.ReLU())
            channels = out_channels
        layers[-1] = OUTPUT_ACTIVATIONS[output_activation]()
        self.net = nn.Sequential(*layers)

    def forward(self, z_q: Tensor) -> Tensor:
        return self.net(rearrange(z_q, "b h w d -> b d h w"))
