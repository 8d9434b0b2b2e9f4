"""Indirect parameterisation of a matrix of logits: one learned embedding per row, shared map.

Nilsson et al., "Indirectly Parameterized Concrete Autoencoders" (IP-CAE), ICML 2024,
arXiv:2403.00563, Sec. 4: instead of free logits ``alpha_i`` per distribution, ``alpha_i = W psi_i
+ b`` with a learned embedding ``psi_i`` (``embedding_dim``) per row and one linear map ``(W, b)``
shared by all rows. The paper reports faster, more stable training of concrete selectors.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vqlab.errors import check_positive


class IndirectLogits(nn.Module):
    """``alpha = Psi W^T + b``: (rows, columns) logits from (rows, embedding_dim) embeddings.

    ``Psi ~ N(0, 1)``; ``W``, ``b`` start as ``nn.Linear``'s default (``U(-1/sqrt(m), 1/sqrt(m))``,
    m = ``embedding_dim``), so the logits start small and nearly uniform, as free logits do.
    """

    def __init__(self, rows: int, columns: int, embedding_dim: int) -> None:
        super().__init__()
        check_positive("indirect_dim", embedding_dim)
        self.embedding = nn.Parameter(torch.randn(rows, embedding_dim))  # (rows, m)
        self.linear = nn.Linear(embedding_dim, columns)

    def forward(self) -> Tensor:
        """The logits, (rows, columns)."""
        return self.linear(self.embedding)

    @torch.no_grad()
    def fit(self, target: Tensor) -> None:
        """Set ``Psi`` (and ``b = 0``) so that the logits equal ``target`` (rows, columns).

        Least squares ``Psi W^T = target`` for the current ``W``: exact when ``embedding_dim >=
        columns`` (``W`` has full column rank with probability 1), the closest fit otherwise.
        """
        self.linear.bias.zero_()
        weight = self.linear.weight.float()  # (columns, m)
        solution = torch.linalg.lstsq(weight, target.float().t()).solution  # (m, rows)
        self.embedding.copy_(solution.t())
