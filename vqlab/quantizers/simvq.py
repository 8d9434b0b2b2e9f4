"""SimVQ: a frozen random codebook reparameterised by one learnable linear map.

Zhu et al., "Addressing Representation Collapse in Vector Quantized Models with One Linear Layer",
2024, arXiv:2411.02038, Sec. 4, Eq. 9-10: codes ``C W`` with ``C`` (K, d) frozen, ``W`` (d, d)
learned; the VQ losses are those of the VQ-VAE (Eq. 3 of arXiv:1711.00937).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vqlab.quantizers.estimators import resolve_estimator
from vqlab.quantizers.vector_quantizer import VectorQuantizer, squared_error


class SimVQQuantizer(VectorQuantizer):
    """``codebook = basis W^T``, ``basis ~ N(0, 1/d)`` (K, d) frozen, ``W`` (d, d) learned.

    loss = ||sg[z_e] - z_q||^2 + beta * ||z_e - sg[z_q]||^2, as ``STEQuantizer``: the codebook
    term's gradient reaches only ``W``, so every code moves with every update, used or not (the
    paper's argument against collapse). ``estimator``: ``ste`` or ``rotation``.

    Deviation: ``basis`` is drawn ``N(0, 1/d)`` and ``W`` starts at the identity (the paper's code
    draws ``C`` from a normal with std ``d^-0.5`` and ``W`` by nn.Linear's default), so the initial
    codes have the scale of a unit-variance encoder output and the first steps are plain VQ.
    """

    basis: Tensor

    def __init__(
        self, codebook_size: int, dim: int, *, beta: float = 0.25, estimator: str = "ste"
    ) -> None:
        super().__init__(codebook_size, dim, beta=beta)
        self.gradient_estimator = resolve_estimator(estimator)
        self.estimator = estimator
        self.register_buffer("basis", torch.randn(codebook_size, dim) / dim**0.5)
        self.projection = nn.Linear(dim, dim, bias=False)
        nn.init.eye_(self.projection.weight)

    @property
    def codebook(self) -> Tensor:  # type: ignore[override]
        """The effective codes ``basis W^T`` (K, d), differentiable in ``W``."""
        return self.projection(self.basis)

    def commitment_loss(self, z_e: Tensor, z_q: Tensor) -> Tensor:
        codebook_term = squared_error(z_q, z_e.detach())
        return codebook_term + self.beta * squared_error(z_e, z_q.detach())

    @torch.no_grad()
    def replace_codes(self, indices: Tensor, vectors: Tensor, counts: Tensor | None = None) -> None:
        """Set ``basis_i`` to the least-squares solution of ``basis_i W^T = vectors_i``."""
        if vectors.shape != (indices.shape[0], self.dim):
            raise ValueError(
                f"replace_codes needs vectors of shape ({indices.shape[0]}, {self.dim}), "
                f"got {tuple(vectors.shape)}"
            )
        weight = self.projection.weight.float()  # (d, d): codes = basis @ weight.T
        rows = torch.linalg.lstsq(weight, vectors.float().t()).solution.t()  # (m, d)
        self.basis.index_copy_(0, indices, rows.to(self.basis))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, estimator={self.estimator}"
