"""An EMA codebook whose step sees the whole effective batch under gradient accumulation.

Seed lever 5 (accumulate the code-usage statistics of several micro-batches before the EMA
update); the update itself is ``EMAQuantizer``'s (van den Oord et al. 2017, arXiv:1711.00937,
App. A.1).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from vqlab.errors import check_positive
from vqlab.quantizers.ema import EMAQuantizer


class AccumulatedEMAQuantizer(EMAQuantizer):
    """``EMAQuantizer`` that sums ``n_i`` and ``sum z`` over ``accumulate_batches`` training
    forwards and takes one EMA step on the sum.

    The codebook is fixed within the window, exactly as the encoder weights are under
    ``trainer.accumulate_grad_batches``: the result equals one ``EMAQuantizer`` step on the
    concatenated micro-batches. Set ``accumulate_batches`` to the trainer's value (the shipped
    config interpolates it). The pending sums and their count are saved in checkpoints.

    Deviation: the window counts training forwards, not optimizer steps; where Lightning steps the
    optimizer on a short window (the last batches of an epoch), the pending statistics carry over
    into the next window instead.
    """

    pending: Tensor

    def __init__(
        self,
        codebook_size: int,
        dim: int,
        *,
        decay: float = 0.99,
        beta: float = 0.25,
        eps: float = 1e-5,
        accumulate_batches: int = 1,
    ) -> None:
        super().__init__(codebook_size, dim, decay=decay, beta=beta, eps=eps)
        check_positive("accumulate_batches", accumulate_batches)
        self.accumulate_batches = int(accumulate_batches)
        self.pending_batches = 0
        self.register_buffer("pending", torch.zeros(codebook_size, dim + 1))

    @torch.no_grad()
    def update(self, z_e: Tensor, indices: Tensor, counts: Tensor) -> None:
        self.pending += self.batch_statistics(z_e, indices, counts)
        self.pending_batches += 1
        if self.pending_batches == self.accumulate_batches:
            self.apply_statistics(self.pending.clone())
            self.pending.zero_()
            self.pending_batches = 0

    def get_extra_state(self) -> dict[str, Any]:
        return {"pending_batches": self.pending_batches}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.pending_batches = int(state["pending_batches"])

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, accumulate_batches={self.accumulate_batches}"
