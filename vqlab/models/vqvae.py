"""The VQ-VAE as a LightningModule: encoder -> codebook quantizer -> decoder.

van den Oord et al., "Neural Discrete Representation Learning", 2017, arXiv:1711.00937, Eq. 3:
``L = ||x - D(z_q)||^2 + quantizer loss`` (codebook + beta * commitment for a gradient codebook,
beta * commitment alone for an EMA codebook).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from vqlab.errors import check_positive
from vqlab.metrics import CodeUsage
from vqlab.models.optimized import OptimizedModule, OptimizerFactory, SchedulerFactory
from vqlab.quantizers import QuantizerOutput, VectorQuantizer


class VQVAE(OptimizedModule):
    """Discrete autoencoder ``x -> z_e = E(x) -> z_q = Q(z_e) -> x_hat = D(z_q)``.

    The codebook kind is the quantizer's business (EMA or straight-through): this module has no
    branch on it. Logs ``{stage}/loss``, ``{stage}/recon_mse``, ``{stage}/vq_loss`` every step and,
    every ``usage_window`` optimizer steps, ``codebook/{perplexity,usage,dead_fraction,entropy}``
    of the codes used in that window (``val/{...}`` over a whole validation epoch). Under
    gradient accumulation the window is logged on the batch that ends its optimizer step only.
    The open window's histogram is checkpointed summed over ranks and loaded by rank 0 alone, so
    a run resumed under DDP reports what the uninterrupted one does.
    Batches are tuples whose first element is the input ``x``.
    """

    module_arguments = (*OptimizedModule.module_arguments, "encoder", "quantizer", "decoder")

    def __init__(
        self,
        encoder: nn.Module,
        quantizer: VectorQuantizer,
        decoder: nn.Module,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        scheduler_interval: str = "epoch",
        usage_window: int = 50,
    ) -> None:
        super().__init__(optimizer, scheduler, scheduler_interval)
        check_positive("usage_window", usage_window)
        # the factories are rebuilt from the run's Hydra config; checkpoints hold plain values only
        self.save_hyperparameters(ignore=list(self.module_arguments))
        self.encoder = encoder
        self.quantizer = quantizer
        self.decoder = decoder
        self.train_usage = CodeUsage(quantizer.codebook_size)
        self.val_usage = CodeUsage(quantizer.codebook_size)
        # the window's histogram is training state: an interrupted run resumes mid-window
        self.train_usage.persistent(True)

    def forward(self, x: Tensor) -> tuple[Tensor, QuantizerOutput]:
        """Reconstruction ``x_hat`` and the quantizer's output for a batch ``x``."""
        quantized = self.quantizer(self.encoder(x))
        return self.decoder(quantized.quantized), quantized

    def losses(self, x: Tensor, x_hat: Tensor, quantized: QuantizerOutput) -> dict[str, Tensor]:
        """Named loss terms; ``loss`` is their total. Variants add their own terms here."""
        recon_mse = F.mse_loss(x_hat.float(), x.float())
        return {
            "loss": recon_mse + quantized.loss,
            "recon_mse": recon_mse,
            "vq_loss": quantized.loss,
        }

    def _shared_step(self, batch: tuple[Tensor, ...], stage: str) -> Tensor:
        x = batch[0]
        x_hat, quantized = self(x)
        terms = self.losses(x, x_hat, quantized)
        on_step = stage == "train"
        self.log_dict(
            {f"{stage}/{name}": value for name, value in terms.items()},
            prog_bar=True,
            on_step=on_step,
            on_epoch=not on_step,
            batch_size=x.shape[0],
            sync_dist=not on_step,
        )
        usage = self.train_usage if stage == "train" else self.val_usage
        usage.update(quantized.counts)
        return terms["loss"]

    def training_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> Tensor:
        loss = self._shared_step(batch, "train")
        if self.ends_optimizer_step(batch_idx) and (
            (self.global_step + 1) % self.hparams.usage_window == 0
        ):
            self.log_usage(self.train_usage, "codebook")
        return loss

    def ends_optimizer_step(self, batch_idx: int) -> bool:
        """Whether the optimizer steps after this training batch (Lightning's accumulation rule:
        every ``accumulate_grad_batches`` batches and on the last batch of an epoch)."""
        if self._trainer is None:
            return True
        trainer = self.trainer
        return (batch_idx + 1) % trainer.accumulate_grad_batches == 0 or (
            batch_idx + 1 == trainer.num_training_batches
        )

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        histogram = self.train_usage.histogram.clone()
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(histogram)  # every rank builds the checkpoint: a collective
        checkpoint["state_dict"]["train_usage.histogram"] = histogram

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
        state = checkpoint["state_dict"]
        if rank > 0 and "train_usage.histogram" in state:
            state["train_usage.histogram"] = torch.zeros_like(state["train_usage.histogram"])

    def validation_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> Tensor:
        return self._shared_step(batch, "val")

    def test_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> Tensor:
        return self._shared_step(batch, "test")

    def on_validation_epoch_end(self) -> None:
        self.log_usage(self.val_usage, "val")

    def on_test_epoch_start(self) -> None:
        self.val_usage.reset()

    def on_test_epoch_end(self) -> None:
        self.log_usage(self.val_usage, "test")

    def log_usage(self, usage: CodeUsage, prefix: str) -> None:
        """Log the window's codebook statistics under ``prefix/`` and start a new window."""
        self.log_dict({f"{prefix}/{name}": value for name, value in usage.compute().items()})
        usage.reset()
