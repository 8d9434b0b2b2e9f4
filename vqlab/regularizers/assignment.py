"""Losses on a learnable feature-to-category assignment and on the category latents.

The seed's three terms, with its default weights (orthogonality 0.1, balance 0.05, family 1.0):
- balance: variance of the soft category sizes ``n_k = sum_d P_dk``, relative to their mean
  ``D / K``: ``mean_k (K n_k / D - 1)^2`` (0 for equal sizes, scale-free in D);
- orthogonality: mean squared correlation, across the batch, between coordinates of different
  categories' latents (0 when the categories' latents are uncorrelated);
- family: mean over features of the probability given to categories of other families,
  ``mean_d sum_k P_dk [M_dk = 0]`` (exactly 0 under the hard family mask).
and, optionally, a fourth that is not the seed's: ``category_recon`` (``CategoryReconstruction``),
each category's own linear read-out of the features assigned to it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vqlab.errors import check_non_negative
from vqlab.regularizers.category_reconstruction import CategoryReconstruction


def balance_loss(probabilities: Tensor) -> Tensor:
    """``mean_k (K n_k / D - 1)^2``, ``n_k = sum_d P_dk``; probabilities (D, K) -> scalar."""
    num_features, num_categories = probabilities.shape
    relative_sizes = probabilities.sum(0) * (num_categories / num_features)  # (K,)
    return (relative_sizes - 1.0).square().mean()


def orthogonality_loss(latents: Tensor, eps: float = 1e-5) -> Tensor:
    """Mean of ``corr(z_ki, z_lj)^2`` over coordinate pairs of categories ``k != l``.

    latents: (b, K, m), each category's latent flattened to m coordinates; correlations over the
    batch (columns standardised with a population std; ``eps`` guards constant columns).
    """
    batch, num_categories, width = latents.shape
    flat = latents.float().reshape(batch, num_categories * width)
    centered = flat - flat.mean(0, keepdim=True)
    standardized = centered / (centered.square().mean(0, keepdim=True) + eps).sqrt()
    correlation = standardized.t() @ standardized / batch  # (K m, K m)
    category = torch.arange(num_categories, device=latents.device).repeat_interleave(width)
    cross = category.unsqueeze(0) != category.unsqueeze(1)
    return correlation.square()[cross].mean()


def family_loss(probabilities: Tensor, mask: Tensor) -> Tensor:
    """``mean_d sum_k P_dk [not M_dk]``: probability outside each feature's family."""
    return probabilities.masked_fill(mask, 0.0).sum(-1).mean()


class AssignmentLosses(nn.Module):
    """The weighted sum of the terms; ``forward`` returns each unweighted and ``total``.

    ``category_recon`` (a ``CategoryReconstruction``, or None: the term is left out) adds
    ``category_recon_weight * L_cat``; its read-outs train with the model's parameters.
    """

    def __init__(
        self,
        balance_weight: float = 0.05,
        orthogonality_weight: float = 0.1,
        family_weight: float = 1.0,
        category_recon: CategoryReconstruction | None = None,
        category_recon_weight: float = 1.0,
    ) -> None:
        super().__init__()
        check_non_negative("balance_weight", balance_weight)
        check_non_negative("orthogonality_weight", orthogonality_weight)
        check_non_negative("family_weight", family_weight)
        check_non_negative("category_recon_weight", category_recon_weight)
        self.balance_weight = balance_weight
        self.orthogonality_weight = orthogonality_weight
        self.family_weight = family_weight
        self.category_recon = category_recon
        self.category_recon_weight = category_recon_weight

    def forward(
        self, probabilities: Tensor, mask: Tensor, latents: Tensor, inputs: Tensor
    ) -> dict[str, Tensor]:
        """probabilities (D, K), mask (D, K) bool, latents (b, K, m), inputs (b, D) -> scalars."""
        terms = {
            "balance": balance_loss(probabilities),
            "orthogonality": orthogonality_loss(latents),
            "family": family_loss(probabilities, mask),
        }
        terms["total"] = (
            self.balance_weight * terms["balance"]
            + self.orthogonality_weight * terms["orthogonality"]
            + self.family_weight * terms["family"]
        )
        if self.category_recon is not None:
            terms["category_recon"] = self.category_recon(inputs, latents, probabilities)
            terms["total"] = terms["total"] + self.category_recon_weight * terms["category_recon"]
        return terms
