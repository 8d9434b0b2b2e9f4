"""Per-category reconstruction: each category must explain the features assigned to it.

Category k has a linear read-out ``h_k(z) = z V_k + c_k`` (``V_k``: (m, D)) from its own latent
``z_k`` (m coordinates) to all D features, and each feature is scored by the read-out of the
categories it is assigned to:

    L_cat = mean_b sum_d sum_k P_dk (x_bd - h_k(z_bk)_d)^2 / D

The gradient on the assignment, ``dL/dP_dk = mean_b (x_bd - h_k(z_bk)_d)^2 / D``, moves feature
d towards the category whose latent predicts it best, and each category's encoder is pulled
towards the features it is assigned: alternating these is k-subspace clustering of the features
(Bradley & Mangasarian, "k-Plane Clustering", J. Global Optimization 16, 2000; Tseng, "Nearest
q-Flat to m Points", JOTA 105, 2000), here by gradient descent inside the autoencoder. The
model's own decoder reads every category's code, so its reconstruction does not care which
category holds a feature; this term does.

Deviation: not in the seed (its losses are balance, orthogonality and family only); added because
from a random start those leave the planted groups unfound (``experiments/README.md``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from vqlab.errors import check_positive


class CategoryReconstruction(nn.Module):
    """``forward(x, latents, probabilities) -> L_cat``: K linear read-outs (m -> D), batched."""

    def __init__(self, num_categories: int, latent_width: int, num_features: int) -> None:
        super().__init__()
        check_positive("num_categories", num_categories)
        check_positive("latent_width", latent_width)
        check_positive("num_features", num_features)
        bound = 1.0 / math.sqrt(latent_width)  # nn.Linear's default init
        self.weight = nn.Parameter(
            torch.empty(num_categories, latent_width, num_features).uniform_(-bound, bound)
        )
        self.bias = nn.Parameter(torch.zeros(num_categories, 1, num_features))

    def predictions(self, latents: Tensor) -> Tensor:
        """``h_k(z_bk)``: latents (b, K, m) -> (b, K, D)."""
        hidden = latents.float().transpose(0, 1)  # (K, b, m)
        return torch.baddbmm(self.bias, hidden, self.weight).transpose(0, 1)

    def forward(self, x: Tensor, latents: Tensor, probabilities: Tensor) -> Tensor:
        """x (b, D), latents (b, K, m), probabilities (D, K) -> scalar ``L_cat``."""
        errors = (x.float().unsqueeze(1) - self.predictions(latents)).square().mean(0)  # (K, D)
        return (errors.t() * probabilities).sum(-1).mean()
