"""K small MLP encoders, one per category, evaluated together as batched matrix products.

Soft routing (the seed's ``SoftGroupedFeatureExtractor``): category k sees the input weighted
by column k of the assignment, ``x_k = x * A[:, k]`` (features outside the category are scaled
towards 0; exactly 0 under a hard assignment), and encodes it with its own MLP.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from einops import rearrange
from torch import Tensor, nn

from vqlab.errors import check_positive


def route(x: Tensor, assignment: Tensor) -> Tensor:
    """``x_k = x * A[:, k]``: x (b, D), A (D, K) -> (b, K, D)."""
    return x.unsqueeze(1) * assignment.t().to(x.dtype).unsqueeze(0)


class CategoryEncoders(nn.Module):
    """(b, K, D) routed inputs -> (b, K, num_latents, latent_dim), one MLP per category.

    Each layer holds a (K, fan_in, fan_out) weight, initialised as ``nn.Linear`` (uniform in
    ``+-1/sqrt(fan_in)``), applied by one ``baddbmm`` for all categories; ReLU between layers.
    """

    def __init__(
        self,
        num_categories: int,
        input_features: int,
        hidden_features: Sequence[int] = (64,),
        latent_dim: int = 4,
        num_latents: int = 1,
    ) -> None:
        super().__init__()
        check_positive("num_categories", num_categories)
        check_positive("latent_dim", latent_dim)
        check_positive("num_latents", num_latents)
        self.num_categories = num_categories
        self.num_latents = num_latents
        self.latent_dim = latent_dim
        sizes = [input_features, *hidden_features, num_latents * latent_dim]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in itertools.pairwise(sizes):
            bound = 1.0 / math.sqrt(fan_in)
            weight = torch.empty(num_categories, fan_in, fan_out).uniform_(-bound, bound)
            self.weights.append(nn.Parameter(weight))
            self.biases.append(
                nn.Parameter(torch.empty(num_categories, 1, fan_out).uniform_(-bound, bound))
            )

    def forward(self, routed: Tensor) -> Tensor:
        hidden = rearrange(routed, "b k d -> k b d")
        for index, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            if index > 0:
                hidden = torch.relu(hidden)
            hidden = torch.baddbmm(bias, hidden, weight)  # (K, b, fan_out)
        return rearrange(hidden, "k b (n d) -> b k n d", n=self.num_latents)
