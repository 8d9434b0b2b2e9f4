"""The hierarchical VQ-VAE-2: a coarse top code and a fine bottom code conditioned on it.

Razavi et al., "Generating Diverse High-Fidelity Images with VQ-VAE-2", 2019, arXiv:1906.00446,
Sec. 3.1, Algorithm 1 (the nets are ``vqlab.nets.TwoLevelConvEncoder`` / ``...Decoder``)::

    h_top = E_top(x),              e_top = Q_top(h_top)
    h_bottom = E_bottom(x, e_top), e_bottom = Q_bottom(h_bottom)
    x_hat = D(e_top, e_bottom)
    L = ||x - x_hat||^2 + loss(Q_top) + loss(Q_bottom)

Each level's quantizer is any ``VectorQuantizer`` with its own codebook size (the paper: EMA
codebooks, beta = 0.25). Both are plain child modules, so callbacks that act on every
``VectorQuantizer`` of a model (k-means init, dead-code respawn) serve both levels. The top
level's gradient reaches the top encoder twice: through the decoder and through the bottom
encoder, which sees the decoded ``e_top`` (straight-through at both quantizers).

Scope: this is the paper's stage 1 (Sec. 3.1, the two-level autoencoder). Its stage 2 (Sec. 3.2,
autoregressive PixelCNN priors over the top and bottom codes, for sampling) is not built; the
codes for such a prior come from ``encode``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from vqlab.models.autoencoder import QuantizedAutoencoder
from vqlab.models.optimized import OptimizerFactory, SchedulerFactory
from vqlab.nets.hierarchical import TwoLevelConvDecoder, TwoLevelConvEncoder
from vqlab.quantizers import QuantizerOutput, VectorQuantizer


@dataclass
class TwoLevelOutput:
    """Both levels' ``QuantizerOutput``; ``loss`` and ``counts`` read as VQVAE reads one level's."""

    top: QuantizerOutput
    bottom: QuantizerOutput

    @property
    def loss(self) -> Tensor:
        """Sum of both levels' (already weighted) quantizer losses."""
        return self.top.loss + self.bottom.loss

    @property
    def terms(self) -> dict[str, Tensor]:
        """Each level's named extra terms (e.g. an entropy regularizer's), as ``top/<name>``."""
        return {
            f"{level}/{name}": value
            for level, output in (("top", self.top), ("bottom", self.bottom))
            for name, value in output.terms.items()
        }

    @property
    def counts(self) -> Tensor:
        """Both levels' code histograms, top then bottom (``VQVAE2.codebooks`` order)."""
        return torch.cat([self.top.counts, self.bottom.counts])


class VQVAE2(QuantizedAutoencoder):
    """VQ-VAE with two codebook levels (steps, logging and usage windows: ``LoggedModule``).

    Logs, besides VQVAE's ``{stage}/{loss,recon_mse,vq_loss}``, ``{stage}/{top,bottom}/vq_loss``
    and ``codebook/{top,bottom}/{perplexity,usage,dead_fraction,entropy}`` every
    ``usage_window`` training steps (``val/{top,bottom}/...`` over a validation epoch), summed
    across DDP ranks. ``encode(x) -> (top_indices, bottom_indices)``; ``decode`` inverts it.
    """

    module_arguments = (
        *QuantizedAutoencoder.module_arguments,
        "encoder",
        "top_quantizer",
        "bottom_quantizer",
        "decoder",
    )

    def __init__(
        self,
        encoder: TwoLevelConvEncoder,
        top_quantizer: VectorQuantizer,
        bottom_quantizer: VectorQuantizer,
        decoder: TwoLevelConvDecoder,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        scheduler_interval: str = "epoch",
        usage_window: int = 50,
    ) -> None:
        super().__init__(optimizer, scheduler, scheduler_interval, usage_window)
        self.save_hyperparameters(ignore=list(self.module_arguments))
        self.encoder = encoder
        self.top_quantizer = top_quantizer
        self.bottom_quantizer = bottom_quantizer
        self.decoder = decoder
        self.track_code_usage()

    def codebooks(self) -> dict[str, nn.Module]:
        return {"top": self.top_quantizer, "bottom": self.bottom_quantizer}

    def forward(self, x: Tensor) -> tuple[Tensor, TwoLevelOutput]:
        """Reconstruction ``x_hat`` and both levels' quantizer outputs for a batch ``x``."""
        features, h_top = self.encoder.encode_top(x)
        top = self.top_quantizer(h_top)
        bottom = self.bottom_quantizer(self.encoder.encode_bottom(features, top.quantized))
        return self.decoder(bottom.quantized, top.quantized), TwoLevelOutput(top, bottom)

    def losses(self, x: Tensor, x_hat: Tensor, quantized: TwoLevelOutput) -> dict[str, Tensor]:
        """VQVAE's terms (``vq_loss`` = both levels) and each level's quantizer loss."""
        terms = super().losses(x, x_hat, quantized)
        return terms | {"top/vq_loss": quantized.top.loss, "bottom/vq_loss": quantized.bottom.loss}

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Code indices ``(top (b, h_t, w_t), bottom (b, h_b, w_b))``; no codebook update."""
        features, h_top = self.encoder.encode_top(x)
        top_indices = self.top_quantizer.encode(h_top)
        e_top = self.top_quantizer.decode(top_indices)
        return top_indices, self.bottom_quantizer.encode(
            self.encoder.encode_bottom(features, e_top)
        )

    def decode(self, top_indices: Tensor, bottom_indices: Tensor) -> Tensor:
        """``x_hat = D(e_top, e_bottom)`` from both levels' code indices."""
        e_top = self.top_quantizer.decode(top_indices)
        return self.decoder(self.bottom_quantizer.decode(bottom_indices), e_top)
