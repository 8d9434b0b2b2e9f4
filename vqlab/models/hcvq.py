"""HC-VQ: the VQ-VAE with the homology-constrained entropy regularizer on its codebook.

Volkov, "Homology-constrained vector quantization entropy regularizer", 2022, arXiv:2211.14363.
Loss (reference code, docs/hcvq.md section 4):

    L = MSE(x_hat, x) + vq_loss,
    vq_loss = MSE(q, sg(z)) + beta * MSE(sg(q), z)
              + s * ((b1 - 100)^2 + 1e4 * (eps0 - 0.5)^2)

The reference sits on PyTorch-VAE's VQ-VAE, a gradient (straight-through) codebook with
beta = 0.25 and init U(-1/K, 1/K): ``model=hcvq`` uses the ``ste`` quantizer. With an EMA codebook
the codebook has no gradient and the term would not move it.
"""

from __future__ import annotations

from torch import Tensor, nn

from vqlab.models.vqvae import VQVAE, OptimizerFactory, SchedulerFactory
from vqlab.quantizers import QuantizerOutput, VectorQuantizer
from vqlab.regularizers import HCVQRegularizer


class HCVQ(VQVAE):
    """VQ-VAE whose ``vq_loss`` includes the HC-VQ term ``hcvq(codebook, x, quantized)``.

    The term's state (entropy accumulators, ``s``, step counters, persistence pairing) lives in the
    ``hcvq`` submodule's ``state_dict``, hence in every checkpoint. Public interface for callbacks:
    ``hcvq.weight`` (settable), ``hcvq.last`` (the last training step's quantities),
    ``hcvq.pairing_stability``. ``train/vq_loss`` includes the term; ``hcvq/*`` metrics are logged
    by the ``HomologyRegularization`` callback.
    """

    module_arguments = (*VQVAE.module_arguments, "hcvq")

    def __init__(
        self,
        encoder: nn.Module,
        quantizer: VectorQuantizer,
        decoder: nn.Module,
        optimizer: OptimizerFactory,
        hcvq: HCVQRegularizer,
        scheduler: SchedulerFactory | None = None,
        scheduler_interval: str = "epoch",
        usage_window: int = 50,
    ) -> None:
        super().__init__(
            encoder, quantizer, decoder, optimizer, scheduler, scheduler_interval, usage_window
        )
        self.hcvq = hcvq

    def losses(self, x: Tensor, x_hat: Tensor, quantized: QuantizerOutput) -> dict[str, Tensor]:
        """The VQ-VAE terms with the HC-VQ term added to ``vq_loss`` and ``loss``."""
        terms = super().losses(x, x_hat, quantized)
        term = self.hcvq(self.quantizer.codebook, x, quantized)
        return terms | {"loss": terms["loss"] + term, "vq_loss": terms["vq_loss"] + term}

    def teardown(self, stage: str) -> None:
        self.hcvq.close()
