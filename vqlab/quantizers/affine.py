"""A gradient codebook with a shared affine reparameterization and the synchronized update.

Huh et al., "Straightening Out the Straight-Through Estimator: Overcoming Optimization Challenges
in Vector Quantized Networks", ICML 2023, arXiv:2305.08842: the affine reparameterization
``c_k = mean + std * c'_k`` with ``mean``, ``std`` shared by all codes (a gradient that reaches
them through the used codes moves the unused ones too), and the synchronized update (Eq. 21 of
the authors' May 2023 draft: the codes receive the task-loss gradient ``nu * dL/dz_q`` alongside
the encoder's, so they move with the encoder instead of lagging behind it). Section numbers of
the published version were not checked here.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vqlab.errors import check_non_negative
from vqlab.quantizers.estimators import GradientEstimator, resolve_estimator
from vqlab.quantizers.vector_quantizer import VectorQuantizer, squared_error, uniform_codebook


class SynchronizedEstimator:
    """``h = estimator(z_e, z_q) + nu (z_q - sg[z_q])``: value ``z_q``, gradient ``g`` to ``z_e``
    (through the estimator) and ``nu g`` to ``z_q``."""

    def __init__(self, estimator: GradientEstimator, nu: float) -> None:
        self.estimator = estimator
        self.nu = nu

    def __call__(self, z_e: Tensor, z_q: Tensor) -> Tensor:
        return self.estimator(z_e, z_q) + self.nu * (z_q - z_q.detach())


class AffineQuantizer(VectorQuantizer):
    """``codebook = mean + std * base`` ((d,) ``mean``, ``std`` and (K, d) ``base``, all learned).

    loss = ||sg[z_e] - z_q||^2 + beta * ||z_e - sg[z_q]||^2, as ``STEQuantizer``; the output
    ``estimator(z_e, z_q) + nu (z_q - sg[z_q])`` adds the synchronized update (``nu = 0``: off).
    With the codebook gradient ``G_k`` (K, d): ``dL/dbase_k = std * G_k``,
    ``dL/dmean = sum_k G_k``, ``dL/dstd = sum_k base_k * G_k``: every code moves when any does.

    Deviation: ``mean = 0``, ``std = 1`` at the start and learned by the same optimizer as the
    rest (the paper also discusses setting them from running statistics and an alternating
    schedule); ``base ~ U(-1/K, 1/K)`` as ``STEQuantizer``'s codebook.
    """

    def __init__(
        self,
        codebook_size: int,
        dim: int,
        *,
        beta: float = 0.25,
        sync_nu: float = 0.5,
        estimator: str = "ste",
    ) -> None:
        super().__init__(codebook_size, dim, beta=beta)
        check_non_negative("sync_nu", sync_nu)
        self.sync_nu = float(sync_nu)
        self.estimator = estimator
        self.gradient_estimator = SynchronizedEstimator(resolve_estimator(estimator), sync_nu)
        self.base = nn.Parameter(uniform_codebook(codebook_size, dim))
        self.mean = nn.Parameter(torch.zeros(dim))
        self.std = nn.Parameter(torch.ones(dim))

    @property
    def codebook(self) -> Tensor:  # type: ignore[override]
        """The effective codes ``mean + std * base`` (K, d), differentiable in all three."""
        return torch.addcmul(self.mean, self.std, self.base)

    def commitment_loss(self, z_e: Tensor, z_q: Tensor) -> Tensor:
        codebook_term = squared_error(z_q, z_e.detach())
        return codebook_term + self.beta * squared_error(z_e, z_q.detach())

    @torch.no_grad()
    def replace_codes(self, indices: Tensor, vectors: Tensor, counts: Tensor | None = None) -> None:
        """Set ``base_i = (vectors_i - mean) / std`` so that the effective code is ``vectors_i``
        (``std`` clamped away from 0 in magnitude, keeping its sign)."""
        if vectors.shape != (indices.shape[0], self.dim):
            raise ValueError(
                f"replace_codes needs vectors of shape ({indices.shape[0]}, {self.dim}), "
                f"got {tuple(vectors.shape)}"
            )
        std = torch.where(self.std >= 0, self.std.clamp_min(1e-6), self.std.clamp_max(-1e-6))
        self.base.index_copy_(0, indices, ((vectors.to(self.base) - self.mean) / std))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, sync_nu={self.sync_nu}, estimator={self.estimator}"
