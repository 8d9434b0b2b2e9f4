"""Dead-code respawn: codes that no encoder output chose for a while are moved onto recent ones.

Dhariwal et al., "Jukebox: A Generative Model for Music", 2020, arXiv:2005.00341, Sec. 2.3
("random restarts": a code whose usage falls below a threshold is reset to a random encoder
output of the current batch); Zeghidour et al., "SoundStream", 2021, arXiv:2107.03312, Sec. 3.3
(replace codes with no assignment over several batches by random input vectors).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightning as L
import torch
from torch import Tensor

from vqlab.callbacks.codebook_watcher import CodebookWatcher
from vqlab.callbacks.codebooks import codebook_metric_name, refuse_growing
from vqlab.callbacks.optimizer_rows import reset_rows
from vqlab.distributed import (
    all_gather_objects,
    all_gather_rows,
    broadcast_from_rank_zero,
    min_over_ranks,
    rank,
    rank_zero_share,
    summed_over_ranks,
)
from vqlab.errors import ConfigValueError, check_non_negative, check_positive
from vqlab.quantizers import QuantizerOutput, VectorQuantizer


@dataclass
class CodebookWindow:
    """What one codebook's respawn needs: usage since the last event and recent inputs."""

    histogram: Tensor  # (K,) assignments since the last event, this rank
    buffer: Tensor  # (buffer_size, d) ring of recent encoder outputs, this rank (source=buffer)
    filled: int = 0  # rows of ``buffer`` that hold data
    position: int = 0  # next row of ``buffer`` to write
    latest: Tensor | None = None  # (n, d) this step's encoder outputs (source=batch)


class DeadCodeRespawn(CodebookWatcher):
    """Every ``every_n_steps`` optimizer steps, replace the codes used fewer than ``threshold``
    times in that window by encoder outputs.

    ``threshold``: an ``int`` is a count; a ``float`` is a fraction of the expected count per code,
    ``n / K`` for the ``n`` assignments of the window (0.1: a code with a tenth of a fair share is
    dead). ``source``: ``batch`` draws the new codes from this step's encoder outputs, ``buffer``
    from a ring of the last ``buffer_size`` (>= K) of them. ``noise``: Gaussian noise added to the
    new codes, its standard deviation ``noise`` times the candidates' root mean square.

    Every codebook of the model (each leaf ``VectorQuantizer``) is served on its own, through its
    public ``replace_codes`` (which keeps EMA statistics consistent); a gradient codebook's
    optimizer moments of the replaced rows are zeroed
    (``vqlab.callbacks.optimizer_rows.reset_rows``).

    DDP: the window histograms are summed over ranks, so every rank finds the same dead codes; each
    rank draws the same number of candidates from its own data, the candidates are gathered,
    rank 0 picks and broadcasts the new codes, and every rank applies the same replacement. Steps
    without an event cost one (K,) addition per codebook and no host sync. Logs
    ``codebook/respawned`` (``codebook/<name>/respawned`` for several codebooks) at each event.
    State (window, buffer, generator, last event) is in the checkpoint; the window is saved summed
    over ranks and loaded once; the generator is saved per rank (rank 0 draws more than the
    others, so the ranks' generators differ) and each rank loads its own, so a resumed DDP run
    draws what the uninterrupted one would.

    Deviation: Jukebox resets per step by an EMA of usage; this uses a window of hard counts,
    whose threshold is easier to read (and the window is what ``codebook/usage`` reports).
    """

    def __init__(
        self,
        every_n_steps: int = 100,
        threshold: int | float = 1,
        source: str = "batch",
        buffer_size: int = 8192,
        noise: float = 0.0,
        seed: int = 0,
        require_codebook: bool = True,
    ) -> None:
        check_positive("every_n_steps", every_n_steps)
        check_non_negative("threshold", threshold)
        check_positive("buffer_size", buffer_size)
        check_non_negative("noise", noise)
        if source not in ("batch", "buffer"):
            raise ConfigValueError("source", "'batch' or 'buffer'", source)
        self.every_n_steps = int(every_n_steps)
        self.threshold = threshold
        self.source = source
        self.buffer_size = int(buffer_size)
        self.noise = float(noise)
        super().__init__("respawn", require_codebook)
        self.generator = torch.Generator().manual_seed(seed)
        self.windows: dict[str, CodebookWindow] = {}
        self.last_event_step = 0

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit":
            refuse_growing(pl_module, "respawn")
        super().setup(trainer, pl_module, stage)

    def watch(self, name: str, quantizer: VectorQuantizer) -> None:
        if self.source == "buffer" and self.buffer_size < quantizer.codebook_size:
            raise ConfigValueError(
                "buffer_size", f">= the codebook size {quantizer.codebook_size}", self.buffer_size
            )
        device = quantizer.codebook.device
        rows = self.buffer_size if self.source == "buffer" else 0
        self.windows[name] = CodebookWindow(
            histogram=torch.zeros(quantizer.codebook_size, device=device),
            buffer=torch.zeros(rows, quantizer.dim, device=device),
        )

    def record(self, name: str, z: Tensor, output: QuantizerOutput) -> None:
        window = self.windows[name]
        window.histogram += output.counts.to(window.histogram)
        if self.source == "batch":
            window.latest = z
        else:
            self._write(window, z.float())

    @staticmethod
    def _write(window: CodebookWindow, z: Tensor) -> None:
        """Append rows to the ring buffer (shapes only: no host sync)."""
        size = window.buffer.shape[0]
        z = z[-size:]
        first = min(z.shape[0], size - window.position)
        window.buffer[window.position : window.position + first] = z[:first]
        window.buffer[: z.shape[0] - first] = z[first:]
        window.position = (window.position + z.shape[0]) % size
        window.filled = min(size, window.filled + z.shape[0])

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        step = trainer.global_step
        if step == self.last_event_step or step % self.every_n_steps != 0:
            return
        self.last_event_step = step
        names = list(self.quantizers)
        replaced = {
            codebook_metric_name(name, names, "respawned"): float(self.respawn(name, q, trainer))
            for name, q in self.quantizers.items()
        }
        # straight to the loggers at this step: through ``pl_module.log`` an event between two
        # ``log_every_n_steps`` would be dropped or repeated
        for logger in trainer.loggers:
            logger.log_metrics(replaced, step=step)

    def respawn(self, name: str, quantizer: VectorQuantizer, trainer: L.Trainer) -> int:
        """One event for one codebook; returns the number of codes replaced (same on all ranks)."""
        window = self.windows[name]
        histogram = summed_over_ranks(window.histogram)
        window.histogram.zero_()
        limit = self.threshold
        if isinstance(limit, float):
            limit = limit * histogram.sum() / quantizer.codebook_size
        dead = (histogram < limit).nonzero().squeeze(1)  # the one host sync, at events only
        pool = window.latest if self.source == "batch" else window.buffer[: window.filled]
        available = 0 if pool is None else pool.shape[0]
        per_rank = min_over_ranks(min(dead.numel(), available), histogram.device)
        if per_rank == 0:
            return 0
        local = pool[torch.randperm(available, generator=self.generator)[:per_rank].to(pool.device)]
        candidates = all_gather_rows(local.float())  # (world * per_rank, d), same on every rank
        count = min(dead.numel(), candidates.shape[0])
        vectors = candidates.new_empty(count, quantizer.dim)
        if rank() == 0:
            order = torch.randperm(candidates.shape[0], generator=self.generator)[:count]
            vectors.copy_(candidates[order.to(candidates.device)])
            if self.noise > 0:
                spread = vectors.pow(2).mean().sqrt()
                noise = torch.randn(vectors.shape, generator=self.generator).to(vectors)
                vectors += self.noise * spread * noise
        broadcast_from_rank_zero(vectors)
        rows = dead[:count]
        quantizer.replace_codes(rows, vectors)
        reset_rows(trainer.optimizers, quantizer.codebook, rows)
        return count

    def state_dict(self) -> dict[str, Any]:
        # called on every rank when a checkpoint is written: the sum is a collective on all ranks
        return {
            "last_event_step": self.last_event_step,
            # every rank's (a collective, like the sum below); entry r is rank r's
            "generators": all_gather_objects(self.generator.get_state()),
            "windows": {
                name: {
                    "histogram": summed_over_ranks(window.histogram).cpu(),
                    "buffer": window.buffer.cpu(),
                    "filled": window.filled,
                    "position": window.position,
                }
                for name, window in self.windows.items()
            },
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.last_event_step = state_dict["last_event_step"]
        # a run resumed on more ranks than it was saved from: the extra ranks take rank 0's
        states = state_dict.get("generators") or [state_dict["generator"]]
        own = rank()
        self.generator.set_state(states[own] if own < len(states) else states[0])
        # applied in on_train_start, once ``setup`` has made the windows on the right device
        self.pending_state = state_dict["windows"]

    def restore(self, windows: dict[str, Any]) -> None:
        for name, saved in windows.items():
            window = self.windows[name]
            # the saved window is the sum over ranks: one rank holds it, so the next sum is right
            window.histogram.copy_(rank_zero_share(saved["histogram"]))
            window.buffer.copy_(saved["buffer"])
            window.filled = saved["filled"]
            window.position = saved["position"]
