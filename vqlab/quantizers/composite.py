"""Base of the quantizers built from child ``VectorQuantizer``s (grouped, residual, projected...).

The children are ordinary ``VectorQuantizer`` modules, each fed its own (..., d_child) input by
its own ``forward``: callbacks that act on every ``VectorQuantizer`` submodule (k-means init,
dead-code respawn, through forward hooks and ``replace_codes``) act on each child unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor, nn

from vqlab.errors import check_positive
from vqlab.quantizers.output import QuantizerOutput
from vqlab.quantizers.vector_quantizer import VectorQuantizer

# a Hydra partial (``_partial_: true``) of a VectorQuantizer, completed with ``dim=``
QuantizerFactory = Callable[..., VectorQuantizer]


class CompositeQuantizer(nn.Module):
    """Children ``quantizers``; ``counts`` concatenates their histograms in order.

    ``codebook_size`` is the total number of codes, ``codebook_sizes`` the size of each child's
    codebook (the model logs usage per child from them). Subclasses define ``forward``,
    ``encode`` and ``decode`` with the ``VectorQuantizer`` contract on (..., dim) inputs.
    ``part_name`` names the children in metrics (``group`` -> ``codebook/group_0/usage``, see
    ``vqlab.quantizers.naming``); ``None`` for a wrapper of one child, which keeps its name.
    """

    part_name: str | None = None

    def __init__(self, dim: int, quantizers: Sequence[VectorQuantizer]) -> None:
        super().__init__()
        check_positive("dim", dim)
        self.dim = int(dim)
        self.quantizers = nn.ModuleList(quantizers)

    @property
    def codebook_sizes(self) -> tuple[int, ...]:
        return tuple(size for child in self.quantizers for size in child.codebook_sizes)

    @property
    def codebook_size(self) -> int:
        return sum(self.codebook_sizes)

    @property
    def gradient_estimator(self) -> Callable[[Tensor, Tensor], Tensor]:
        """The first child's estimator: how a parent (``residual``) passes gradients through this
        quantizer's output, as the child passes them through its own."""
        return self.quantizers[0].gradient_estimator

    def check_dim(self, z_e: Tensor) -> None:
        """``ValueError`` unless ``z_e``'s last axis has size ``dim``."""
        if z_e.shape[-1] != self.dim:
            raise ValueError(
                f"quantizer expects vectors of size dim={self.dim} in the last axis, got shape "
                f"{tuple(z_e.shape)}: make the encoder's output channels equal the quantizer's dim"
            )

    def forward(self, z_e: Tensor) -> QuantizerOutput:
        raise NotImplementedError

    @staticmethod
    def child_terms(outputs: Sequence[QuantizerOutput], child: str) -> dict[str, Tensor]:
        """The children's named terms as ``<child>_<i>/<name>`` (``stage_0/entropy_loss``), so
        each is logged as ``codebook/<child>_<i>/<name>``, the per-codebook metric scheme."""
        return {
            f"{child}_{index}/{name}": value
            for index, out in enumerate(outputs)
            for name, value in out.terms.items()
        }

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
