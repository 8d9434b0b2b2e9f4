"""Vector quantization with l2-normalised inputs and codes (cosine-similarity codes).

Yu et al., "Vector-quantized Image Modeling with Improved VQGAN" (ViT-VQGAN), 2021,
arXiv:2110.04627, Sec. 3.2 ("l2-normalized codes").
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from vqlab.functional import nearest_code
from vqlab.quantizers.output import QuantizerOutput
from vqlab.quantizers.ste import STEQuantizer


class CosineQuantizer(STEQuantizer):
    """``z^ = z_e / |z_e|``, ``e^_j = e_j / |e_j|``, ``k = argmax_j z^ . e^_j``, ``z_q = e^_k``.

    On the unit sphere ``||z^ - e^_j||^2 = 2 - 2 z^ . e^_j``: the nearest code is the max-cosine
    code, and the losses (codebook + beta * commitment, as ``STEQuantizer``) are taken between
    ``z^`` and ``e^_k``. The output is a unit vector; the gradient reaches ``z_e`` through the
    normalisation and the estimator (``ste`` or ``rotation``). ``codebook`` holds the unnormalised
    parameters; ``replace_codes`` may write any non-zero vectors (they are normalised on use).
    """

    def forward(self, z_e: Tensor) -> QuantizerOutput:
        return super().forward(F.normalize(z_e, dim=-1))

    def encode(self, z_e: Tensor) -> Tensor:
        """Index of the max-cosine code (``z_e`` need not be normalised). (..., d) -> (...,)."""
        self.check_dim(z_e)
        codes = F.normalize(self.codebook.detach(), dim=-1)  # (k, d)
        return nearest_code(z_e.reshape(-1, self.dim), codes).reshape(z_e.shape[:-1])

    def decode(self, indices: Tensor) -> Tensor:
        """Unit-norm code vectors. (...,) -> (..., d)."""
        return F.normalize(F.embedding(indices, self.codebook), dim=-1)
