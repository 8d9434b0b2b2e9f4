"""Residual vector quantization: each stage quantizes what the previous stages left.

Zeghidour et al., "SoundStream: An End-to-End Neural Audio Codec", 2021, arXiv:2107.03312,
Sec. 3.3, Algorithm 1 (after Juang & Gray, "Multiple stage vector quantization", 1982).
"""

from __future__ import annotations

import torch
from torch import Tensor

from vqlab.errors import check_positive
from vqlab.quantizers.composite import CompositeQuantizer, QuantizerFactory
from vqlab.quantizers.output import QuantizerOutput


class ResidualQuantizer(CompositeQuantizer):
    """``r_0 = z_e``, ``q_i = Q_i(r_{i-1})``, ``r_i = r_{i-1} - sg[q_i]``, ``z_q = sum_i q_i``.

    ``quantizer`` is a partial of any ``VectorQuantizer``, built N times with ``dim = d``; each
    stage's loss (codebook and commitment against its residual ``r_{i-1}``) is summed, so every
    commitment term reaches the encoder. indices: (..., N); counts: the N histograms, concatenated;
    terms: each stage's named terms as ``stage_<i>/<name>``.

    Deviation: the output is the stages' gradient estimator applied once to the sum,
    ``estimator(z_e, z_q)`` (``ste``: ``z_e + sg[z_q - z_e]``, the gradient to ``z_e`` is the
    upstream one; ``rotation``: ``z_e`` rotated onto ``z_q``); vector-quantize-pytorch sums the
    stages' straight-through outputs, which hands ``z_e`` N times the upstream gradient.
    """

    part_name = "stage"

    def __init__(self, dim: int, *, num_stages: int, quantizer: QuantizerFactory) -> None:
        check_positive("num_stages", num_stages)
        super().__init__(dim, [quantizer(dim=dim) for _ in range(num_stages)])
        self.num_stages = int(num_stages)

    def forward(self, z_e: Tensor) -> QuantizerOutput:
        self.check_dim(z_e)
        residual, total = z_e, torch.zeros_like(z_e)
        outputs = []
        for stage in self.quantizers:
            out = stage(residual)
            value = out.quantized.detach()
            residual = residual - value
            total = total + value
            outputs.append(out)
        return QuantizerOutput(
            quantized=self.quantizers[0].gradient_estimator(z_e, total),
            indices=torch.stack([out.indices for out in outputs], dim=-1),  # (..., n)
            loss=torch.stack([out.loss for out in outputs]).sum(),
            counts=torch.cat([out.counts for out in outputs]),
            terms=self.child_terms(outputs, "stage"),
        )

    def encode(self, z_e: Tensor) -> Tensor:
        """(..., d) -> (..., N) int64."""
        self.check_dim(z_e)
        residual, indices = z_e, []
        for stage in self.quantizers:
            stage_indices = stage.encode(residual)
            residual = residual - stage.decode(stage_indices)
            indices.append(stage_indices)
        return torch.stack(indices, dim=-1)

    def decode(self, indices: Tensor) -> Tensor:
        """``sum_i e^(i)_{k_i}`` over the first ``n = indices.shape[-1]`` stages. -> (..., d)."""
        stages = zip(self.quantizers, indices.unbind(-1), strict=False)  # the first n stages
        return sum(stage.decode(stage_indices) for stage, stage_indices in stages)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, num_stages={self.num_stages}"
