"""Online clustered codebook re-initialisation: rarely used codes drift towards encoder outputs.

Zheng & Vedaldi, "Online Clustered Codebook", ICCV 2023 (CVQ-VAE), arXiv:2307.15139, Sec. 3: every
training step, with ``p_k`` the share of the batch's assignments that chose code ``k``,

    u_k  <- gamma u_k + (1 - gamma) p_k                      (running, decayed usage)
    a_k  =  exp(-u_k K s / (1 - gamma) - eps)                (s = 10, eps = 1e-3 as in their code)
    e_k  <- (1 - a_k) e_k + a_k z^_k                         (z^_k: the anchor of code k)

so well-used codes (``u_k ~ 1 / K``) keep ``a_k ~ e^-1000 = 0`` and unused ones are pulled onto the
data. Anchors are the "closest" strategy: ``z^_k`` is the encoder output of the batch nearest to
code ``k`` (a feature that code could win).
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor

from vqlab.callbacks.codebook_watcher import CodebookWatcher
from vqlab.distributed import all_gather_rows, all_reduce_sum, broadcast_from_rank_zero, rank
from vqlab.errors import ConfigValueError, check_positive
from vqlab.functional import nearest_code
from vqlab.quantizers import QuantizerOutput, VectorQuantizer


class OnlineClusteredReinit(CodebookWatcher):
    """After every training batch, move each code by ``a_k`` towards its anchor (module doc).

    Every leaf ``VectorQuantizer`` of the model is served on its own through ``replace_codes``;
    only codes with ``a_k > min_weight`` are rewritten (one (K,) host read per step: everything
    else leaves them as they are). DDP: the batch counts are summed over ranks, so ``u`` is the
    same everywhere; each rank finds its nearest local output per code, the candidates and their
    distances are gathered, rank 0 keeps the nearest per code and broadcasts them.
    State: the running usage ``u`` of each codebook (same on every rank) is in the checkpoint.

    Usage starts at 0, as in the authors' code: at the first step every code that no output chose
    jumps (``a ~ 1``) onto its anchor. Deviation: the paper also evaluates random and unique
    anchors; only "closest" is built here.
    """

    def __init__(
        self,
        decay: float = 0.99,
        sharpness: float = 10.0,
        min_weight: float = 1e-4,
        require_codebook: bool = True,
    ) -> None:
        if not 0.0 <= decay < 1.0:
            raise ConfigValueError("decay", "in [0, 1)", decay)
        check_positive("sharpness", sharpness)
        if not 0.0 <= min_weight < 1.0:
            raise ConfigValueError("min_weight", "in [0, 1)", min_weight)
        self.decay = float(decay)
        self.sharpness = float(sharpness)
        self.min_weight = float(min_weight)
        super().__init__("online_reinit", require_codebook)
        self.usage: dict[str, Tensor] = {}
        self.latest: dict[str, tuple[Tensor, Tensor]] = {}

    def watch(self, name: str, quantizer: VectorQuantizer) -> None:
        self.usage[name] = torch.zeros(quantizer.codebook_size, device=quantizer.codebook.device)

    def record(self, name: str, z: Tensor, output: QuantizerOutput) -> None:
        self.latest[name] = (z, output.counts.detach())

    def restore(self, state: dict[str, Tensor]) -> None:
        for name, usage in state.items():
            self.usage[name].copy_(usage)

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        for name, quantizer in self.quantizers.items():
            if name in self.latest:
                self.step(name, quantizer, *self.latest.pop(name))

    @torch.no_grad()
    def step(self, name: str, quantizer: VectorQuantizer, z: Tensor, counts: Tensor) -> int:
        """One update of one codebook from its batch ``z`` (n, d) and ``counts`` (K,); returns
        the number of codes moved (the same on every rank)."""
        counts = all_reduce_sum(counts.float().clone())
        usage = self.usage[name]
        usage.lerp_(counts / counts.sum().clamp_min(1.0), 1.0 - self.decay)
        size = quantizer.codebook_size
        weights = torch.exp(-usage * size * self.sharpness / (1.0 - self.decay) - 1e-3)  # (k,)
        anchors = self.closest_anchors(quantizer.codebook.detach().float(), z.float())
        rows = (weights > self.min_weight).nonzero().squeeze(1)
        if rows.numel() == 0:
            return 0
        codes = quantizer.codebook.detach()[rows].float()
        moved = torch.lerp(codes, anchors[rows], weights[rows].unsqueeze(1))
        quantizer.replace_codes(rows, moved)
        return int(rows.numel())

    @staticmethod
    def closest_anchors(codebook: Tensor, z: Tensor) -> Tensor:
        """Per code, the nearest encoder output over every rank's batch, (K, d), rank 0's choice
        broadcast. Local nearest by ``nearest_code`` with the roles of codes and data swapped."""
        local = z[nearest_code(codebook, z)]  # (k, d)
        distance = (local - codebook).pow(2).sum(-1)  # (k,)
        candidates = all_gather_rows(local)  # (world * k, d)
        distances = all_gather_rows(distance)
        size = codebook.shape[0]
        anchors = torch.empty_like(codebook)
        if rank() == 0:
            best = distances.reshape(-1, size).argmin(0)  # (k,) the rank with the nearest
            anchors.copy_(candidates.reshape(-1, size, codebook.shape[1])[best, torch.arange(size)])
        return broadcast_from_rank_zero(anchors)

    def state_dict(self) -> dict[str, Any]:
        return {"usage": {name: usage.cpu() for name, usage in self.usage.items()}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        # applied in on_train_start, once ``setup`` has made the buffers on the right device
        self.pending_state = state_dict["usage"]
