"""The VQ-VAE as a LightningModule: encoder -> codebook quantizer -> decoder.

van den Oord et al., "Neural Discrete Representation Learning", 2017, arXiv:1711.00937, Sec. 3
(its loss, Eq. 3, is ``QuantizedAutoencoder``'s).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from vqlab.errors import check_positive
from vqlab.models.autoencoder import QuantizedAutoencoder
from vqlab.models.optimized import OptimizerFactory, SchedulerFactory
from vqlab.quantizers import CompositeQuantizer, QuantizerOutput, VectorQuantizer


class VQVAE(QuantizedAutoencoder):
    """Discrete autoencoder ``x -> z_e = E(x) -> z_q = Q(z_e) -> x_hat = D(z_q)``.

    The codebook kind is the quantizer's business (EMA or straight-through): this module has no
    branch on it. Logs ``{stage}/loss``, ``{stage}/recon_mse``, ``{stage}/vq_loss``, the
    quantizer's named terms, and the code-usage windows (``vqlab.models.logged_module``).
    ``codebook_lr``: the learning rate of the quantizer's parameters, a parameter group of its
    own (seed lever 10, a slower codebook); ``None``: the optimizer's.
    Batches are tuples whose first element is the input ``x``.
    """

    module_arguments = (*QuantizedAutoencoder.module_arguments, "encoder", "quantizer", "decoder")

    def __init__(
        self,
        encoder: nn.Module,
        quantizer: VectorQuantizer | CompositeQuantizer,
        decoder: nn.Module,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        scheduler_interval: str = "epoch",
        usage_window: int = 50,
        codebook_lr: float | None = None,
    ) -> None:
        super().__init__(optimizer, scheduler, scheduler_interval, usage_window)
        if codebook_lr is not None:
            check_positive("codebook_lr", codebook_lr)
        # the factories are rebuilt from the run's Hydra config; checkpoints hold plain values only
        self.save_hyperparameters(ignore=list(self.module_arguments))
        self.encoder = encoder
        self.quantizer = quantizer
        self.decoder = decoder
        self.track_code_usage()

    def codebooks(self) -> dict[str, nn.Module]:
        return {"": self.quantizer}

    def parameter_groups(self) -> list[dict[str, Any]]:
        """One group, or, with ``codebook_lr``, the quantizer's parameters at ``codebook_lr``."""
        if self.hparams.get("codebook_lr") is None:
            return super().parameter_groups()
        codebook = list(self.quantizer.parameters())
        codebook_ids = {id(parameter) for parameter in codebook}
        rest = [p for p in self.parameters() if id(p) not in codebook_ids]
        groups = [{"params": rest}, {"params": codebook, "lr": self.hparams.codebook_lr}]
        return [group for group in groups if group["params"]]

    def forward(self, x: Tensor) -> tuple[Tensor, QuantizerOutput]:
        """Reconstruction ``x_hat`` and the quantizer's output for a batch ``x``."""
        quantized = self.quantizer(self.encoder(x))
        return self.decoder(quantized.quantized), quantized

    def encode(self, x: Tensor) -> Tensor:
        """Code indices of a batch ``x``: the latent grid, ``(b, h, w)`` for conv nets, int64.

        ``decode(encode(x))`` equals ``forward(x)[0]`` (the reconstruction) in eval mode.
        """
        return self.quantizer.encode(self.encoder(x))

    def decode(self, indices: Tensor) -> Tensor:
        """Reconstruction ``x_hat`` from code indices of the shape ``encode`` returns."""
        return self.decoder(self.quantizer.decode(indices))
