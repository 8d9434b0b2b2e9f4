"""Base of the quantizers that wrap one child and add a weighted penalty to its loss.

``Q(z_e)`` is the child's output; ``loss += weight * penalty(z_e, child)``, and the weighted term
is ``terms[term_name]`` (logged as ``codebook/<term_name>``). ``encode`` and ``decode`` are the
child's. Subclasses define ``penalty`` (the entropy of the soft assignment, the codes'
orthogonality, ...).
"""

from __future__ import annotations

from torch import Tensor

from vqlab.errors import check_non_negative
from vqlab.quantizers.composite import CompositeQuantizer, QuantizerFactory
from vqlab.quantizers.output import QuantizerOutput
from vqlab.quantizers.vector_quantizer import VectorQuantizer


class RegularizedQuantizer(CompositeQuantizer):
    """One child ``quantizer`` (a partial built with ``dim``) plus ``weight * penalty``."""

    term_name: str

    def __init__(self, dim: int, quantizer: QuantizerFactory, weight: float) -> None:
        check_non_negative("weight", weight)
        super().__init__(dim, [quantizer(dim=dim)])
        self.weight = float(weight)

    def penalty(self, z_e: Tensor, child: VectorQuantizer) -> Tensor:
        """The unweighted regularizer of this batch; a scalar."""
        raise NotImplementedError

    def forward(self, z_e: Tensor) -> QuantizerOutput:
        child = self.quantizers[0]
        out = child(z_e)
        term = self.weight * self.penalty(z_e, child)
        out.loss = out.loss + term
        out.terms = out.terms | {self.term_name: term.detach()}
        return out

    def encode(self, z_e: Tensor) -> Tensor:
        return self.quantizers[0].encode(z_e)

    def decode(self, indices: Tensor) -> Tensor:
        return self.quantizers[0].decode(indices)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, weight={self.weight}"
