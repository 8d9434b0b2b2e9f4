"""Base of the quantizers with an implied codebook (a grid), no learned code vectors: FSQ, LFQ.

A linear projection takes the model's ``dim`` channels to the ``channels`` that are quantized and
back, when the two differ (Mentzer et al. 2023, arXiv:2309.15505, Sec. 3: "project to a
low-dimensional space"; Yu et al. 2023, arXiv:2310.05737, Sec. 3.1 likewise).
"""

from __future__ import annotations

from torch import Tensor, nn

from vqlab.errors import ConfigValueError, check_positive
from vqlab.functional import code_histogram, straight_through
from vqlab.quantizers.output import QuantizerOutput


class ScalarQuantizer(nn.Module):
    """``z -> W_in z`` (``channels``), quantize each channel on a grid, ``-> W_out z_q`` (``dim``).

    Subclasses define ``quantize`` ((..., channels) float32 -> grid values with a straight-through
    gradient), ``loss_terms`` (their weighted losses by name), ``indices_of`` and ``codes_of``
    (grid values <-> int64 index in ``[0, codebook_size)``). ``counts`` is the histogram over
    the implied codebook, so usage and perplexity are logged as for a learned one. Not a
    ``VectorQuantizer``: codebook callbacks (k-means init, respawn) have no codes to move here
    and step aside.
    ``gradient_estimator``: how a parent (``residual``) passes gradients through the output.
    """

    gradient_estimator = staticmethod(straight_through)

    def __init__(self, dim: int, *, channels: int, codebook_size: int) -> None:
        super().__init__()
        check_positive("dim", dim)
        if dim < channels:
            # a rank-dim projection reaches only a dim-dimensional slice of the grid's codes
            raise ConfigValueError("dim", f">= the {channels} quantized channels", dim)
        self.dim = int(dim)
        self.channels = int(channels)
        self.codebook_size = int(codebook_size)
        projected = dim != channels
        self.project_in = nn.Linear(dim, channels) if projected else nn.Identity()
        self.project_out = nn.Linear(channels, dim) if projected else nn.Identity()

    @property
    def codebook_sizes(self) -> tuple[int, ...]:
        """One implied codebook."""
        return (self.codebook_size,)

    def check_dim(self, z_e: Tensor) -> None:
        """``ConfigError`` unless ``z_e``'s last axis has size ``dim``."""
        if z_e.shape[-1] != self.dim:
            channels = z_e.shape[-1]
            raise ConfigValueError("dim", f"the encoder's {channels} output channels", self.dim)

    def quantize(self, z: Tensor) -> Tensor:
        """Grid values of ``z`` (..., channels) with a straight-through gradient to ``z``."""
        raise NotImplementedError

    def loss_terms(self, z: Tensor, codes: Tensor) -> dict[str, Tensor]:
        """Weighted loss terms by name (logged as ``codebook/<name>``); none by default."""
        return {}

    def indices_of(self, codes: Tensor) -> Tensor:
        """Grid values (..., channels) -> (...,) int64."""
        raise NotImplementedError

    def codes_of(self, indices: Tensor) -> Tensor:
        """(...,) int64 -> grid values (..., channels) float32."""
        raise NotImplementedError

    def forward(self, z_e: Tensor) -> QuantizerOutput:
        """Quantize ``z_e`` (..., dim); ``loss`` is the sum of the subclass's weighted terms."""
        self.check_dim(z_e)
        z = self.project_in(z_e).float()
        codes = self.quantize(z)
        terms = self.loss_terms(z, codes)
        indices = self.indices_of(codes.detach())
        loss = sum(terms.values(), codes.new_zeros(()))
        counts = code_histogram(indices, self.codebook_size)
        detached = {name: value.detach() for name, value in terms.items()}
        return QuantizerOutput(self.project_out(codes), indices, loss, counts, detached)

    def encode(self, z_e: Tensor) -> Tensor:
        """(..., dim) -> (...,) int64 in ``[0, codebook_size)``."""
        self.check_dim(z_e)
        return self.indices_of(self.quantize(self.project_in(z_e).float()).detach())

    def decode(self, indices: Tensor) -> Tensor:
        """(...,) int64 -> (..., dim); ``decode(encode(z))`` equals ``forward(z).quantized``."""
        return self.project_out(self.codes_of(indices))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, channels={self.channels}, codebook_size={self.codebook_size}"
