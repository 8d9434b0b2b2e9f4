"""Vector quantization with a codebook kept as an exponential moving average of its assignments.

van den Oord et al., "Neural Discrete Representation Learning", 2017, arXiv:1711.00937,
Appendix A.1; Razavi et al., "Generating Diverse High-Fidelity Images with VQ-VAE-2", 2019,
arXiv:1906.00446, Sec. 3.1 (Laplace smoothing as in their reference code).
"""

from __future__ import annotations

import torch
from torch import Tensor

from vqlab.distributed import all_reduce_sum
from vqlab.errors import ConfigValueError, check_positive
from vqlab.quantizers.vector_quantizer import VectorQuantizer, squared_error, uniform_codebook

CODEBOOK_INITS = {"normal": torch.randn, "uniform": uniform_codebook}


class EMAQuantizer(VectorQuantizer):
    """``k = argmin_j ||z_e - e_j||^2``, ``z_q = e_k``; codebook updated by EMA, not by gradients.

    In training mode, after the lookup, with n_i the number of z_e assigned to code i in the batch
    (summed over all DDP ranks):

        N_i <- gamma N_i + (1 - gamma) n_i
        m_i <- gamma m_i + (1 - gamma) sum_{z: k(z) = i} z
        N~_i = (N_i + eps) / (sum_j N_j + K eps) * sum_j N_j      (Laplace smoothing)
        e_i  = m_i / N~_i

    loss = beta * ||z_e - sg[z_q]||^2 (commitment only, mean over elements).

    ``codebook_init``: ``normal`` draws the codes ``N(0, 1)``; ``uniform`` draws them
    ``U(-1/K, 1/K)``, near the origin, as the STE codebook and the VQ-VAE reference code do (at
    d = 64 a ``N(0, 1)`` code has norm ~8, far from an encoder's first outputs, so one code wins
    them all and the others, which only move towards vectors assigned to them, never do).

    Deviation: N starts at 1 and m at the initial codebook (not at 0), so e = m / N holds from the
    first step and a code that is never chosen shrinks slowly towards the origin instead of being
    divided by eps; the usual zero start is recovered after ~1 / (1 - gamma) steps.
    """

    def __init__(
        self,
        codebook_size: int,
        dim: int,
        *,
        decay: float = 0.99,
        beta: float = 0.25,
        eps: float = 1e-5,
        codebook_init: str = "normal",
    ) -> None:
        super().__init__(codebook_size, dim, beta=beta)
        if not 0.0 <= decay < 1.0:
            raise ConfigValueError("decay", "in [0, 1)", decay)
        check_positive("eps", eps)
        if codebook_init not in CODEBOOK_INITS:
            raise ConfigValueError("codebook_init", f"one of {list(CODEBOOK_INITS)}", codebook_init)
        self.decay = float(decay)
        self.eps = float(eps)
        self.codebook_init = codebook_init
        codebook = CODEBOOK_INITS[codebook_init](codebook_size, dim)
        self.register_buffer("codebook", codebook)
        self.register_buffer("cluster_size", torch.ones(codebook_size))
        self.register_buffer("embed_sum", codebook.clone())

    def commitment_loss(self, z_e: Tensor, z_q: Tensor) -> Tensor:
        return self.beta * squared_error(z_e, z_q.detach())

    @torch.no_grad()
    def update(self, z_e: Tensor, indices: Tensor, counts: Tensor) -> None:
        """One EMA step of counts, sums and codebook; all-reduced across ranks, no host sync."""
        self.apply_statistics(self.batch_statistics(z_e, indices, counts))

    @torch.no_grad()
    def batch_statistics(self, z_e: Tensor, indices: Tensor, counts: Tensor) -> Tensor:
        """``[n_i, sum_{z: k(z) = i} z]`` of this batch on this rank, (K, d + 1) float32."""
        flat = z_e.detach().reshape(-1, self.dim).float()
        flat_indices = indices.reshape(-1)
        # index_add_ into a contiguous (K, d) buffer: into a column slice of (K, d + 1) it is ~3x
        # slower on CPU; the cat that joins counts and sums for one all-reduce is only K x (d + 1)
        sums = torch.zeros(self.codebook_size, self.dim, device=flat.device)
        sums.index_add_(0, flat_indices, flat)
        return torch.cat([counts.unsqueeze(1), sums], dim=1)  # (k, d + 1)

    @torch.no_grad()
    def apply_statistics(self, stats: Tensor) -> None:
        """The EMA step (class docstring) from ``batch_statistics``, summed over all ranks."""
        all_reduce_sum(stats)
        weight = 1.0 - self.decay
        self.cluster_size.lerp_(stats[:, 0], weight)
        self.embed_sum.lerp_(stats[:, 1:], weight)
        total = self.cluster_size.sum()
        smoothed = (self.cluster_size + self.eps) / (total + self.codebook_size * self.eps) * total
        torch.div(self.embed_sum, smoothed.unsqueeze(1), out=self.codebook)

    @torch.no_grad()
    def replace_codes(self, indices: Tensor, vectors: Tensor, counts: Tensor | None = None) -> None:
        """Set codes and their EMA statistics together, so the next EMA step keeps them.

        ``N_i = counts`` (default: the mean of all ``N``, an average code) and ``m_i = N_i e_i``, so
        ``m_i / N_i`` is the new code: writing only the codebook would be undone by the next
        ``e = m / N~`` (the bug of EnCodec #61), and leaving ``N_i`` at a dead code's ~0 would let
        the first assigned vector overwrite it.
        """
        super().replace_codes(indices, vectors, counts)
        if counts is None:
            counts = self.cluster_size.mean().expand(indices.shape[0])
        counts = counts.to(self.cluster_size)
        self.cluster_size.index_copy_(0, indices, counts)
        self.embed_sum.index_copy_(0, indices, self.codebook[indices] * counts.unsqueeze(1))

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, decay={self.decay}, eps={self.eps}, "
            f"codebook_init={self.codebook_init}"
        )
