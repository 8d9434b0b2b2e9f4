"""The shared loss and step of the codebook autoencoders (VQ-VAE, VQ-VAE-2, HC-VQ).

van den Oord et al., "Neural Discrete Representation Learning", 2017, arXiv:1711.00937, Eq. 3:
``L = ||x - D(z_q)||^2 + quantizer loss``; the quantizer's loss is already weighted (codebook +
beta * commitment for a gradient codebook, beta * commitment alone for an EMA codebook).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from vqlab.models.logged_module import LoggedModule, StepOutput
from vqlab.quantizers import QuantizerOutput


class QuantizedAutoencoder(LoggedModule):
    """A model whose ``forward(x)`` returns ``(x_hat, quantizer output)``; batches are tuples
    whose first element is ``x``. Subclasses add their own terms in ``losses``. Training terms
    are logged on the steps the trainer writes (``LoggedModule.sparse_training_logs``)."""

    sparse_training_logs = True

    def losses(self, x: Tensor, x_hat: Tensor, quantized: QuantizerOutput) -> dict[str, Tensor]:
        """Named loss terms; ``loss`` is their total."""
        recon_mse = F.mse_loss(x_hat.float(), x.float())
        return {
            "loss": recon_mse + quantized.loss,
            "recon_mse": recon_mse,
            "vq_loss": quantized.loss,
        }

    def step(self, batch: tuple[Tensor, ...], stage: str) -> StepOutput:
        x = batch[0]
        x_hat, quantized = self(x)
        return StepOutput(
            terms=self.losses(x, x_hat, quantized),
            batch_size=x.shape[0],
            counts=quantized.counts,
            codebook_terms=quantized.terms,
            evaluation=self.image_metrics(x_hat, x, stage),
        )
