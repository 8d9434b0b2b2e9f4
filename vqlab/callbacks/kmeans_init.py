"""k-means initialisation of every codebook from the encoder outputs of the first batches.

Zeghidour et al., "SoundStream: An End-to-End Neural Audio Codec", 2021, arXiv:2107.03312,
Sec. 3.3: "the codebook ... is initialized by running the k-means algorithm on the first training
batch and using the learned centroids as initialization" (vqlab: ``num_batches`` batches,
k-means++ seeding and ``iterations`` Lloyd steps, ``vqlab.clustering.kmeans``).
"""

from __future__ import annotations

import itertools
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from vqlab.callbacks.batch_transfer import transfer_batch
from vqlab.callbacks.codebooks import codebook_quantizers, refuse_growing, require_codebooks
from vqlab.callbacks.optimizer_rows import reset_rows
from vqlab.clustering.kmeans import kmeans
from vqlab.distributed import (
    all_gather_rows,
    all_reduce_sum,
    broadcast_from_rank_zero,
    min_over_ranks,
    rank,
)
from vqlab.errors import check_positive
from vqlab.quantizers import VectorQuantizer


class KMeansInit(L.Callback):
    """Before the first optimizer step, set each codebook to the k-means centroids of its inputs.

    The inputs are the encoder outputs (each codebook's own input) of the first ``num_batches``
    training batches, computed without gradient in eval mode (no EMA step, no dropout), from a
    fresh iterator of the datamodule's training loader (the trainer's own loader and the global
    RNG are left untouched). Codebooks are initialised in the order the model calls them, one pass
    per codebook, so a later codebook (a bottom level, a residual stage) sees inputs computed with
    the earlier ones already initialised. At most ``max_vectors`` inputs per rank enter k-means.
    Each codebook is set through ``replace_codes`` with the centroids and their cluster sizes
    (per training step), so an EMA codebook's ``cluster_size`` / ``embed_sum`` agree with it.

    DDP: rank r uses batches r, r + W, ... of the loader; the inputs are gathered, rank 0 runs
    k-means and broadcasts the codebook: every rank holds the same one. Runs once: the checkpoint
    records it, and a resumed run keeps its trained codebook.
    """

    def __init__(
        self,
        num_batches: int = 10,
        iterations: int = 10,
        max_vectors: int = 65536,
        seed: int = 0,
        require_codebook: bool = True,
    ) -> None:
        check_positive("num_batches", num_batches)
        check_positive("iterations", iterations)
        check_positive("max_vectors", max_vectors)
        self.num_batches = int(num_batches)
        self.iterations = int(iterations)
        self.max_vectors = int(max_vectors)
        self.seed = int(seed)
        self.require_codebook = require_codebook
        self.done = False

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit":
            require_codebooks(codebook_quantizers(pl_module), "kmeans_init", self.require_codebook)
            refuse_growing(pl_module, "kmeans_init")

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.done or trainer.global_step > 0:
            self.done = True
            return
        pending = codebook_quantizers(pl_module)
        batches = self._batches(trainer, pl_module)
        generator = torch.Generator().manual_seed(self.seed)
        was_training = pl_module.training
        pl_module.eval()
        try:
            while pending:
                inputs = self._collect(pl_module, pending, batches)
                name = next(iter(inputs))  # the first codebook the model called
                self._initialise(pending.pop(name), inputs[name], len(batches), trainer, generator)
        finally:
            pl_module.train(was_training)
        self.done = True

    def _batches(self, trainer: L.Trainer, pl_module: L.LightningModule) -> list[Tensor]:
        """This rank's share of the first ``num_batches`` x world-size training batches, on the
        device and through the data hooks (``vqlab.callbacks.batch_transfer``; e.g. uint8 -> float
        images), as the training step sees them."""
        datamodule = trainer.datamodule
        loader = (
            datamodule.train_dataloader() if datamodule is not None else trainer.train_dataloader
        )
        world, own = trainer.world_size, trainer.global_rank
        first = itertools.islice(loader, self.num_batches * world)
        return [
            transfer_batch(trainer, pl_module, batch)[0]
            for index, batch in enumerate(first)
            if index % world == own
        ]

    @torch.no_grad()
    def _collect(
        self,
        model: L.LightningModule,
        quantizers: dict[str, VectorQuantizer],
        batches: list[Tensor],
    ) -> dict[str, Tensor]:
        """Inputs of ``quantizers`` over ``batches``, keyed in the order the model calls them."""
        collected: dict[str, list[Tensor]] = {}

        def recorder(name: str):
            def record(module: nn.Module, args: tuple[Tensor, ...]) -> None:
                z = args[0].detach()
                collected.setdefault(name, []).append(z.reshape(-1, z.shape[-1]).float())

            return record

        handles = [q.register_forward_pre_hook(recorder(n)) for n, q in quantizers.items()]
        try:
            for x in batches:
                model(x)
        finally:
            for handle in handles:
                handle.remove()
        return {name: torch.cat(parts) for name, parts in collected.items()}

    def _initialise(
        self,
        quantizer: VectorQuantizer,
        inputs: Tensor,
        num_batches: int,
        trainer: L.Trainer,
        generator: torch.Generator,
    ) -> None:
        size = min_over_ranks(min(inputs.shape[0], self.max_vectors), inputs.device)
        sample = all_gather_rows(inputs[:size])  # (world * size, d)
        k = quantizer.codebook_size
        centres = sample.new_empty(k, quantizer.dim)
        counts = sample.new_empty(k)
        if rank() == 0:
            found, sizes = kmeans(sample, k, self.iterations, generator)
            centres.copy_(found)
            counts.copy_(sizes)
        broadcast_from_rank_zero(centres)
        broadcast_from_rank_zero(counts)
        # cluster sizes per training step (an EMA codebook counts assignments per step, summed
        # over ranks), at least 1 so an empty cluster's code is not divided down to 0
        vectors_per_step = all_reduce_sum(counts.new_tensor(inputs.shape[0] / num_batches))
        per_step = (counts / counts.sum() * vectors_per_step).clamp_min(1.0)
        rows = torch.arange(k, device=centres.device)
        quantizer.replace_codes(rows, centres.to(quantizer.codebook), per_step)
        reset_rows(trainer.optimizers, quantizer.codebook, rows)

    def state_dict(self) -> dict[str, Any]:
        return {"done": self.done}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.done = state_dict["done"]
