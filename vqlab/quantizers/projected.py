"""Low-dimensional codes: project to ``codebook_dim``, quantize there, project back.

Yu et al., "Vector-quantized Image Modeling with Improved VQGAN" (ViT-VQGAN), 2021,
arXiv:2110.04627, Sec. 3.2 ("factorized codes": a linear projection to a low-dimensional
lookup space, e.g. 32 -> 8); combine with ``CosineQuantizer`` for the paper's l2-normalised codes.
"""

from __future__ import annotations

from dataclasses import replace

from torch import Tensor, nn

from vqlab.errors import check_positive
from vqlab.quantizers.composite import CompositeQuantizer, QuantizerFactory
from vqlab.quantizers.output import QuantizerOutput


class ProjectedQuantizer(CompositeQuantizer):
    """``z_q = W_out Q(W_in z_e + b_in) + b_out``, ``W_in`` (codebook_dim, d), ``W_out`` transposed.

    ``quantizer`` is a partial of any ``VectorQuantizer``, built once with ``dim = codebook_dim``;
    the nearest-code search and the quantizer's losses live in the low-dimensional space, the
    projections are learned by the reconstruction gradient through the child's estimator.
    """

    def __init__(self, dim: int, *, codebook_dim: int, quantizer: QuantizerFactory) -> None:
        check_positive("codebook_dim", codebook_dim)
        super().__init__(dim, [quantizer(dim=codebook_dim)])
        self.codebook_dim = int(codebook_dim)
        self.project_in = nn.Linear(dim, codebook_dim)
        self.project_out = nn.Linear(codebook_dim, dim)

    def forward(self, z_e: Tensor) -> QuantizerOutput:
        self.check_dim(z_e)
        out = self.quantizers[0](self.project_in(z_e))
        return replace(out, quantized=self.project_out(out.quantized))

    def encode(self, z_e: Tensor) -> Tensor:
        """(..., d) -> (...,) int64."""
        self.check_dim(z_e)
        return self.quantizers[0].encode(self.project_in(z_e))

    def decode(self, indices: Tensor) -> Tensor:
        """(...,) -> (..., d)."""
        return self.project_out(self.quantizers[0].decode(indices))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, codebook_dim={self.codebook_dim}"
