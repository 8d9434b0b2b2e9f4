"""Vector quantization with a codebook learned by gradient descent.

van den Oord et al., "Neural Discrete Representation Learning", 2017, arXiv:1711.00937,
Sec. 3.2, Eq. 3.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vqlab.quantizers.vector_quantizer import VectorQuantizer, squared_error


class STEQuantizer(VectorQuantizer):
    """``k = argmin_j ||z_e - e_j||^2``, ``z_q = e_k``.

    loss = ||sg[z_e] - z_q||^2 + beta * ||z_e - sg[z_q]||^2 (codebook + commitment, Eq. 3),
    each a mean over elements; gradient to z_e: z_q := z_e + sg[z_q - z_e] (straight-through).
    Codebook initialised ``U(-1/K, 1/K)`` as in the VQ-VAE reference implementations.
    """

    def __init__(self, codebook_size: int, dim: int, beta: float = 0.25) -> None:
        super().__init__(codebook_size, dim, beta)
        bound = 1.0 / codebook_size
        self.codebook = nn.Parameter(torch.empty(codebook_size, dim).uniform_(-bound, bound))

    def commitment_loss(self, z_e: Tensor, z_q: Tensor) -> Tensor:
        codebook_term = squared_error(z_q, z_e.detach())
        return codebook_term + self.beta * squared_error(z_e, z_q.detach())
