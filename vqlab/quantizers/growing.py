"""A codebook that starts with few live codes and grows (the growth-curriculum lever).

Train with ``K_small`` codes, then copy them, with a little noise, into the free slots of the
larger table and go on (seed lever 6; the split step of the LBG algorithm, Linde, Buzo & Gray,
"An Algorithm for Vector Quantizer Design", IEEE Trans. Commun. 28(1), 1980, Sec. III).
``vqlab.callbacks.CodebookGrowth`` calls ``grow`` at the configured steps.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from vqlab.errors import ConfigValueError, check_positive
from vqlab.functional import code_histogram, nearest_code
from vqlab.quantizers.composite import CompositeQuantizer, QuantizerFactory
from vqlab.quantizers.output import QuantizerOutput


class GrowingQuantizer(CompositeQuantizer):
    """Nearest-code search over the first ``live_codes`` rows of the child's codebook only.

    ``quantizer`` is a partial of any ``VectorQuantizer`` (its ``codebook_size`` is the final K),
    built with ``dim``; ``initial_size`` codes are live at the start. Losses, EMA update and
    gradient estimator are the child's; ``counts`` is over all K codes, so usage reads at most
    ``live_codes / K`` before the last growth. ``live_codes`` is saved in checkpoints.

    Deviation: the search bypasses the child's ``forward`` (it must not see the dormant rows), so
    callbacks that hook a ``VectorQuantizer``'s forward (k-means init, dead-code respawn) do not act
    on the child, and a child whose ``forward`` transforms its input (``CosineQuantizer``) is used
    without that transform: use plain ``ste`` / ``ema`` children, and growth instead of respawn
    (those callbacks refuse a model with a ``GrowingQuantizer``, one line on the CLI).
    """

    def __init__(self, dim: int, *, initial_size: int, quantizer: QuantizerFactory) -> None:
        check_positive("initial_size", initial_size)
        super().__init__(dim, [quantizer(dim=dim)])
        if initial_size > self.quantizers[0].codebook_size:
            raise ConfigValueError(
                "initial_size", f"<= the child's codebook_size {self.codebook_size}", initial_size
            )
        self.initial_size = int(initial_size)
        self.live_codes = int(initial_size)

    def forward(self, z_e: Tensor) -> QuantizerOutput:
        child = self.quantizers[0]
        indices = self.encode(z_e)
        z_q = child.decode(indices)
        loss = child.commitment_loss(z_e, z_q)
        counts = code_histogram(indices, child.codebook_size)
        if self.training:
            child.update(z_e, indices, counts)
        return QuantizerOutput(child.gradient_estimator(z_e, z_q), indices, loss, counts)

    def encode(self, z_e: Tensor) -> Tensor:
        """Index of the nearest live code. (..., d) -> (...,) int64."""
        self.check_dim(z_e)
        live = self.quantizers[0].codebook[: self.live_codes]
        return nearest_code(z_e.reshape(-1, self.dim), live).reshape(z_e.shape[:-1])

    def decode(self, indices: Tensor) -> Tensor:
        return self.quantizers[0].decode(indices)

    @torch.no_grad()
    def grow(self, new_size: int, jitter: float, generator: torch.Generator) -> Tensor:
        """Make codes ``live_codes .. new_size - 1`` live; returns their indices.

        New code ``i`` is ``e_{(i - L) mod L} + jitter * std(E_live) * n``, ``n ~ N(0, I)``, with
        ``L`` the live count: copies of the live codes cycled in order, each nudged apart.
        ``generator`` must be seeded alike on every rank so that every rank grows alike.
        """
        child = self.quantizers[0]
        if not self.live_codes < new_size <= child.codebook_size:
            raise ConfigValueError(
                "sizes", f"in ({self.live_codes}, {child.codebook_size}]", new_size
            )
        codebook = child.codebook.detach()
        rows = torch.arange(self.live_codes, new_size, device=codebook.device)
        sources = (rows - self.live_codes) % self.live_codes
        scale = jitter * codebook[: self.live_codes].float().std()
        noise = torch.randn(rows.shape[0], self.dim, generator=generator).to(codebook.device)
        child.replace_codes(rows, codebook[sources].float() + scale * noise)
        self.live_codes = int(new_size)
        return rows

    def get_extra_state(self) -> dict[str, Any]:
        return {"live_codes": self.live_codes}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.live_codes = int(state["live_codes"])

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, live_codes={self.live_codes}"
