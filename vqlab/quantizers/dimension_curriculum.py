"""Low-dimensional codes whose number of active dimensions grows during training (seed lever 7).

``ProjectedQuantizer`` (project to ``codebook_dim``, quantize, project back; ViT-VQGAN,
arXiv:2110.04627, Sec. 3.2) with a mask on the projected coordinates: only the first
``active_dims`` carry signal, the rest are zero in the quantizer's input and in its output. Opening
more dimensions changes no parameter shape, so the optimizer and its state stay as they are; a
callback (``DimensionCurriculum``) sets ``active_dims`` at configured steps.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from vqlab.errors import ConfigValueError
from vqlab.quantizers.composite import QuantizerFactory
from vqlab.quantizers.output import QuantizerOutput
from vqlab.quantizers.projected import ProjectedQuantizer


class DimensionCurriculumQuantizer(ProjectedQuantizer):
    """``z_q = W_out (m * Q(m * (W_in z_e + b_in))) + b_out``, ``m_i = [i < active_dims]``.

    The child quantizer sees vectors whose inactive coordinates are 0; its codes' inactive
    coordinates get no signal from the data (a gradient codebook's codebook term pulls the chosen
    codes' ones to 0) and are masked out of the output, so only the active subspace matters.
    ``active_dims`` is a persistent buffer: it is in the checkpoint, a resumed run continues with
    the dimensions it had open. ``open_dims(n)`` is the public way to change it.
    """

    active_dims: Tensor

    def __init__(
        self, dim: int, *, codebook_dim: int, quantizer: QuantizerFactory, initial_dims: int = 2
    ) -> None:
        super().__init__(dim, codebook_dim=codebook_dim, quantizer=quantizer)
        if not 0 < initial_dims <= codebook_dim:
            requirement = f"in [1, codebook_dim={codebook_dim}]"
            raise ConfigValueError("initial_dims", requirement, initial_dims)
        self.initial_dims = int(initial_dims)
        self.register_buffer("active_dims", torch.tensor(int(initial_dims)))

    def open_dims(self, count: int) -> None:
        """Make the first ``count`` projected dimensions active (at most ``codebook_dim``)."""
        if not 0 < count <= self.codebook_dim:
            raise ConfigValueError("sizes", f"in [1, codebook_dim={self.codebook_dim}]", count)
        self.active_dims.fill_(count)

    def mask(self, like: Tensor) -> Tensor:
        """``m`` (codebook_dim,) in ``like``'s dtype and device."""
        positions = torch.arange(self.codebook_dim, device=like.device)
        return (positions < self.active_dims).to(like.dtype)

    def forward(self, z_e: Tensor) -> QuantizerOutput:
        self.check_dim(z_e)
        projected = self.project_in(z_e)
        mask = self.mask(projected)
        out = self.quantizers[0](projected * mask)
        return replace(out, quantized=self.project_out(out.quantized * mask))

    def encode(self, z_e: Tensor) -> Tensor:
        """(..., d) -> (...,) int64."""
        self.check_dim(z_e)
        projected = self.project_in(z_e)
        return self.quantizers[0].encode(projected * self.mask(projected))

    def decode(self, indices: Tensor) -> Tensor:
        """(...,) -> (..., d)."""
        codes = self.quantizers[0].decode(indices)
        return self.project_out(codes * self.mask(codes))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, initial_dims={self.initial_dims}"
