"""Vector quantization with a codebook learned by gradient descent.

van den Oord et al., "Neural Discrete Representation Learning", 2017, arXiv:1711.00937,
Sec. 3.2, Eq. 3.
"""

from __future__ import annotations

from torch import Tensor, nn

from vqlab.quantizers.estimators import resolve_estimator
from vqlab.quantizers.vector_quantizer import VectorQuantizer, squared_error, uniform_codebook


class STEQuantizer(VectorQuantizer):
    """``k = argmin_j ||z_e - e_j||^2``, ``z_q = e_k``.

    loss = ||sg[z_e] - z_q||^2 + beta * ||z_e - sg[z_q]||^2 (codebook + commitment, Eq. 3),
    each a mean over elements; gradient to z_e: z_q := z_e + sg[z_q - z_e] (straight-through).
    Codebook initialised ``U(-1/K, 1/K)`` as in the VQ-VAE reference implementations.
    ``estimator``: ``ste`` (straight-through) or ``rotation`` (Fifty et al. 2024, arXiv:2410.06424,
    ``vqlab.functional.rotation_trick``) for the gradient that reaches ``z_e``.
    """

    def __init__(
        self, codebook_size: int, dim: int, *, beta: float = 0.25, estimator: str = "ste"
    ) -> None:
        super().__init__(codebook_size, dim, beta=beta)
        self.gradient_estimator = resolve_estimator(estimator)
        self.estimator = estimator
        self.codebook = nn.Parameter(uniform_codebook(codebook_size, dim))

    def commitment_loss(self, z_e: Tensor, z_q: Tensor) -> Tensor:
        codebook_term = squared_error(z_q, z_e.detach())
        return codebook_term + self.beta * squared_error(z_e, z_q.detach())

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, estimator={self.estimator}"
