"""Grouped (product) codebooks: G codebooks, each quantizing its own slice of the channels.

Jégou et al., "Product Quantization for Nearest Neighbor Search", 2011, TPAMI 33(1), Sec. II;
in VQ-VAEs as wav2vec 2.0's G codebooks (Baevski et al. 2020, arXiv:2006.11477, Sec. 2).
"""

from __future__ import annotations

import torch
from torch import Tensor

from vqlab.errors import ConfigValueError, check_positive
from vqlab.quantizers.composite import CompositeQuantizer, QuantizerFactory
from vqlab.quantizers.output import QuantizerOutput


class GroupedQuantizer(CompositeQuantizer):
    """``z_e = [z_1, ..., z_G]`` (channel slices of d / G), ``z_q = [Q_1(z_1), ..., Q_G(z_G)]``.

    ``quantizer`` is a partial of any ``VectorQuantizer``, built G times with ``dim = d / G``.
    indices: (..., G); loss: the mean of the groups' losses (each a mean over its elements, so the
    total is a mean over all d channels, as for one codebook); counts: the G histograms,
    concatenated; terms: each group's named terms as ``group_<g>/<name>``.
    The product space holds ``K_g^G`` code combinations.
    """

    part_name = "group"

    def __init__(self, dim: int, *, num_groups: int, quantizer: QuantizerFactory) -> None:
        check_positive("num_groups", num_groups)
        if dim % num_groups:
            raise ConfigValueError("num_groups", f"a divisor of dim={dim}", num_groups)
        super().__init__(dim, [quantizer(dim=dim // num_groups) for _ in range(num_groups)])
        self.num_groups = int(num_groups)

    def forward(self, z_e: Tensor) -> QuantizerOutput:
        self.check_dim(z_e)
        parts = self.split(z_e)
        outputs = [child(part) for child, part in zip(self.quantizers, parts, strict=True)]
        return QuantizerOutput(
            quantized=torch.cat([out.quantized for out in outputs], dim=-1),
            indices=torch.stack([out.indices for out in outputs], dim=-1),  # (..., g)
            loss=torch.stack([out.loss for out in outputs]).mean(),
            counts=torch.cat([out.counts for out in outputs]),
            terms=self.child_terms(outputs, "group"),
        )

    def split(self, z_e: Tensor) -> tuple[Tensor, ...]:
        """The G channel slices of ``z_e``. (..., d) -> G x (..., d / G)."""
        return z_e.chunk(self.num_groups, dim=-1)

    def encode(self, z_e: Tensor) -> Tensor:
        """(..., d) -> (..., G) int64."""
        self.check_dim(z_e)
        parts = self.split(z_e)
        return torch.stack([q.encode(p) for q, p in zip(self.quantizers, parts, strict=True)], -1)

    def decode(self, indices: Tensor) -> Tensor:
        """(..., G) -> (..., d)."""
        return torch.cat([q.decode(indices[..., g]) for g, q in enumerate(self.quantizers)], -1)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, num_groups={self.num_groups}"
