"""Nearest-code vector quantization shared by the codebook quantizers.

van den Oord et al., "Neural Discrete Representation Learning", 2017, arXiv:1711.00937, Sec. 3.1:
``k = argmin_j ||z_e - e_j||^2`` and ``z_q = e_k``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vqlab.errors import ConfigError, check_non_negative, check_positive
from vqlab.functional import code_histogram, nearest_code, straight_through
from vqlab.quantizers.output import QuantizerOutput


class VectorQuantizer(nn.Module):
    """Base class: nearest-code search, lookup, straight-through output.

    Subclasses own the ``codebook`` tensor (K, d) and define ``commitment_loss`` and, optionally,
    ``update`` (called in training mode after the lookup, e.g. the EMA step).
    ``gradient_estimator(z_e, z_q)`` gives the output its value ``z_q`` and its gradient to ``z_e``:
    straight-through here; gradient codebooks take ``estimator: ste|rotation`` (``estimators.py``).
    ``replace_codes`` is the one public way to overwrite codes (k-means init, dead-code respawn,
    growth): subclasses that keep more state per code (EMA statistics) extend it.
    """

    codebook: Tensor

    def __init__(self, codebook_size: int, dim: int, *, beta: float) -> None:
        super().__init__()
        check_positive("codebook_size", codebook_size)
        check_positive("dim", dim)
        check_non_negative("beta", beta)
        self.codebook_size = int(codebook_size)
        self.dim = int(dim)
        self.beta = float(beta)
        self.gradient_estimator: Callable[[Tensor, Tensor], Tensor] = straight_through

    @property
    def codebook_sizes(self) -> tuple[int, ...]:
        """Sizes of the codebooks whose histograms ``counts`` concatenates: one here."""
        return (self.codebook_size,)

    def check_dim(self, z_e: Tensor) -> None:
        """``ValueError`` unless ``z_e``'s last axis has size ``dim``."""
        if z_e.shape[-1] != self.dim:
            raise ConfigError(  # a model config whose encoder and quantizer sizes disagree
                f"quantizer expects vectors of size dim={self.dim} in the last axis, got shape "
                f"{tuple(z_e.shape)}: make the encoder's output channels equal the quantizer's dim"
            )

    def encode(self, z_e: Tensor) -> Tensor:
        """Indices of the nearest codes. z_e: (..., d) -> (...,) int64."""
        self.check_dim(z_e)
        flat = z_e.reshape(-1, self.dim)
        return nearest_code(flat, self.codebook).reshape(z_e.shape[:-1])

    def decode(self, indices: Tensor) -> Tensor:
        """Codebook vectors of ``indices``. (...,) -> (..., d)."""
        return F.embedding(indices, self.codebook)

    def forward(self, z_e: Tensor) -> QuantizerOutput:
        """Quantize ``z_e`` of shape (..., d); see the class docstring for the loss."""
        indices = self.encode(z_e)
        z_q = self.decode(indices)
        loss = self.commitment_loss(z_e, z_q)
        counts = code_histogram(indices, self.codebook_size)
        if self.training:
            self.update(z_e, indices, counts)
        return QuantizerOutput(self.gradient_estimator(z_e, z_q), indices, loss, counts)

    @torch.no_grad()
    def replace_codes(self, indices: Tensor, vectors: Tensor, counts: Tensor | None = None) -> None:
        """Set codes ``e_indices = vectors`` and everything that would otherwise undo it.

        indices: (m,) int64 distinct code indices; vectors: (m, d); counts: optional (m,) number of
        vectors each new code stands for (used by codebooks that keep counts, e.g. EMA). A gradient
        codebook's optimizer state of these rows is the caller's to reset
        (``vqlab.callbacks.optimizer_rows.reset_rows``): a quantizer does not know its optimizer.
        """
        if vectors.shape != (indices.shape[0], self.dim):
            raise ValueError(
                f"replace_codes needs vectors of shape ({indices.shape[0]}, {self.dim}) for "
                f"{indices.shape[0]} indices, got {tuple(vectors.shape)}"
            )
        self.codebook.index_copy_(0, indices, vectors.to(self.codebook))

    def commitment_loss(self, z_e: Tensor, z_q: Tensor) -> Tensor:
        """The quantizer's weighted loss terms; computed in float32."""
        raise NotImplementedError

    def update(self, z_e: Tensor, indices: Tensor, counts: Tensor) -> None:
        """Training-time codebook update outside autograd (``counts``: this batch's (K,)
        histogram of ``indices``); none by default."""

    def extra_repr(self) -> str:
        return f"codebook_size={self.codebook_size}, dim={self.dim}, beta={self.beta}"


def uniform_codebook(codebook_size: int, dim: int) -> Tensor:
    """``U(-1/K, 1/K)`` draws (K, d): codes near the origin, as in the VQ-VAE reference code."""
    bound = 1.0 / codebook_size
    return torch.empty(codebook_size, dim).uniform_(-bound, bound)


def squared_error(a: Tensor, b: Tensor) -> Tensor:
    """``mean ||a - b||^2`` over all elements, in float32."""
    return F.mse_loss(a.float(), b.float())
