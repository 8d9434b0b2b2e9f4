"""Multilayer-perceptron encoder and decoder for vectors (or flattened images).

The encoder emits ``num_latents`` vectors of size ``latent_dim`` per input, ``(b, n, d)``, so a
vector can be described by several codes, as a grid of latents describes an image.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence

from einops import rearrange
from torch import Tensor, nn

from vqlab.errors import ConfigValueError, check_positive
from vqlab.nets.conv import OUTPUT_ACTIVATIONS

# LeakyReLU(0.2) is the concrete autoencoder's decoder nonlinearity (Abid et al. 2019, Sec. 4)
HIDDEN_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": functools.partial(nn.LeakyReLU, 0.2),
}


def mlp(
    sizes: Sequence[int], activation: Callable[[], nn.Module] = nn.ReLU, dropout: float = 0.0
) -> nn.Sequential:
    """Linear layers of the given sizes; activation (then dropout, if > 0) between them."""
    layers: list[nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        if index > 0:
            layers.append(activation())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(fan_in, fan_out))
    return nn.Sequential(*layers)


class MLPEncoder(nn.Module):
    """x (b, *input_shape) -> z_e (b, num_latents, latent_dim)."""

    def __init__(
        self,
        input_shape: Sequence[int],
        hidden_features: Sequence[int] = (256,),
        latent_dim: int = 16,
        num_latents: int = 1,
    ) -> None:
        super().__init__()
        check_positive("latent_dim", latent_dim)
        check_positive("num_latents", num_latents)
        self.num_latents = num_latents
        self.net = mlp([math.prod(input_shape), *hidden_features, num_latents * latent_dim])

    def forward(self, x: Tensor) -> Tensor:
        z_e = self.net(x.flatten(1))
        return rearrange(z_e, "b (n d) -> b n d", n=self.num_latents)


class MLPDecoder(nn.Module):
    """z_q (b, num_latents, latent_dim) -> x_hat (b, *output_shape).

    ``hidden_features`` are listed encoder-side first (they mirror the encoder's), so the decoder
    uses them reversed. ``activation`` (a key of ``HIDDEN_ACTIVATIONS``) and ``dropout`` act
    after every hidden layer.
    """

    def __init__(
        self,
        output_shape: Sequence[int],
        hidden_features: Sequence[int] = (256,),
        latent_dim: int = 16,
        num_latents: int = 1,
        output_activation: str = "identity",
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if activation not in HIDDEN_ACTIVATIONS:
            raise ConfigValueError("activation", f"one of {list(HIDDEN_ACTIVATIONS)}", activation)
        if not 0.0 <= dropout < 1.0:
            raise ConfigValueError("dropout", "in [0, 1)", dropout)
        self.output_shape = tuple(output_shape)
        sizes = [num_latents * latent_dim, *reversed(hidden_features), math.prod(output_shape)]
        self.net = nn.Sequential(
            mlp(sizes, HIDDEN_ACTIVATIONS[activation], dropout),
            OUTPUT_ACTIVATIONS[output_activation](),
        )

    def forward(self, z_q: Tensor) -> Tensor:
        return self.net(z_q.flatten(1)).reshape(-1, *self.output_shape)
