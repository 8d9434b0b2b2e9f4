"""A gradient codebook plus an orthogonality regularizer on its (l2-normalised) codes.

Shin et al., "Exploration into Translation-Equivariant Image Quantization", ICASSP 2023,
arXiv:2112.00384, Eq. 2: ``L_orth = lambda / K^2 * ||l2(C) l2(C)^T - I_K||_F^2``, pushing the K
normalised codes towards mutual orthogonality (spread-out codes; with K > d the minimum is a
tight frame, not orthogonality). The regularizer of vector-quantize-pytorch's
``orthogonal_reg_weight``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from vqlab.errors import ConfigCombinationError
from vqlab.quantizers.composite import QuantizerFactory
from vqlab.quantizers.regularized import RegularizedQuantizer
from vqlab.quantizers.vector_quantizer import VectorQuantizer


def orthogonality_loss(codebook: Tensor) -> Tensor:
    """``||C^ C^T - I_K||_F^2 / K^2`` with ``C^`` the l2-normalised rows, in float32.

    Computed through the (d, d) Gram matrix instead of the (K, K) one:
    ``||C^ C^T - I||_F^2 = ||C^T^ C^||_F^2 - 2 sum_k |c^_k|^2 + K`` (``||A A^T||_F = ||A^T A||_F``),
    O(K d^2) time and O(d^2) memory; equal to the dense form for any rows, zero rows included.
    codebook: (K, d) -> scalar.
    """
    with torch.autocast(codebook.device.type, enabled=False):
        normed = F.normalize(codebook.float(), dim=-1)
        size = codebook.shape[0]
        gram = normed.t() @ normed  # (d, d)
        return (gram.pow(2).sum() - 2 * normed.pow(2).sum() + size) / size**2


class OrthogonalRegularizedQuantizer(RegularizedQuantizer):
    """``Q(z_e)``, ``loss += weight * ||C^ C^T - I||_F^2 / K^2`` on the child's codebook.

    ``quantizer`` is a partial of any ``VectorQuantizer`` whose codebook is learned by gradients
    (STE, rotation, cosine, SimVQ, affine), built with ``dim``; an EMA codebook has no gradient
    for the term to act on and is refused. The weighted term is ``terms["orthogonal_loss"]``.

    Deviation: the paper (and vector-quantize-pytorch's default) may restrict the term to the
    codes used in the batch or to a random subset of codes; here it covers all K codes, which the
    (d, d) Gram form makes cheap.
    """

    term_name = "orthogonal_loss"

    def __init__(self, dim: int, *, quantizer: QuantizerFactory, weight: float = 10.0) -> None:
        super().__init__(dim, quantizer, weight)
        if not self.quantizers[0].codebook.requires_grad:
            raise ConfigCombinationError(
                "model.quantizer: the orthogonal regularizer needs a codebook learned by "
                "gradients (ste, rotation, cosine, simvq, affine), not an EMA codebook"
            )

    def penalty(self, z_e: Tensor, child: VectorQuantizer) -> Tensor:
        return orthogonality_loss(child.codebook)
