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

import math

from torch import Tensor, nn

from vqlab.models.logged_module import StepOutput
from vqlab.models.optimized import OptimizerFactory, SchedulerFactory
from vqlab.models.vqvae import VQVAE
from vqlab.quantizers import QuantizerOutput, VectorQuantizer
from vqlab.regularizers import HCVQRegularizer
from vqlab.regularizers.hcvq import HCVQState
from vqlab.topology import persistent_entropy


class HCVQ(VQVAE):
    """VQ-VAE whose ``vq_loss`` includes the HC-VQ term ``hcvq(codebook, x, quantized)``.

    The term's state (entropy accumulators, ``s``, step counters, persistence pairing) lives in the
    ``hcvq`` submodule's ``state_dict``, hence in every checkpoint. Public interface for callbacks:
    ``hcvq.weight`` (settable), ``hcvq.last`` (the last training step's quantities),
    ``hcvq.pairing_stability``. ``train/vq_loss`` includes the term.

    Logs every training step (written every ``trainer.log_every_n_steps``, and once at step 0 so
    that ``s = 0`` during the first ``period`` steps shows): ``hcvq/b1``, ``hcvq/eps0`` (the
    signature the loss used), ``hcvq/scale`` (``s``), ``hcvq/loss`` (the term added to the VQ
    loss), ``hcvq/persistent_entropy_h0`` / ``_h1`` (of the H0 deaths / H1 persistences of the last
    valid diagram, see ``HCVQState``) and, once the pairing has been refreshed twice,
    ``hcvq/pairing_stability``. Nothing with ``hcvq.enabled=false``. The ``HomologyRegularization``
    callback adds the weight ramp and the diagram images.
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

    def setup(self, stage: str) -> None:
        """The inputs' range (``LoggedModule.setup``) is also H_x's."""
        super().setup(stage)
        self.hcvq.entropy_scale.input_range = self.value_range

    def step(self, batch: tuple[Tensor, ...], stage: str) -> StepOutput:
        out = super().step(batch, stage)
        state = self.hcvq.last
        if stage == "train" and self.hcvq.enabled and state is not None:
            out.training_statistics |= self.hcvq_metrics(state)
        return out

    def training_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> Tensor:
        loss = super().training_step(batch, batch_idx)
        state = self.hcvq.last
        if self.global_step == 0 and batch_idx == 0 and self.hcvq.enabled and state is not None:
            # Lightning writes every log_every_n_steps from step n - 1 on: show step 0 too
            metrics = self.hcvq_metrics(state)
            for logger in self.loggers:
                logger.log_metrics({name: float(value) for name, value in metrics.items()}, 0)
        return loss

    def hcvq_metrics(self, state: HCVQState) -> dict[str, Tensor | float]:
        """The ``hcvq/*`` scalars of one training step (see the class doc)."""
        metrics: dict[str, Tensor | float] = {
            "hcvq/b1": state.b1,
            "hcvq/eps0": state.eps0,
            "hcvq/scale": state.scale,
            "hcvq/loss": state.term,
            "hcvq/persistent_entropy_h0": persistent_entropy(state.h0[:, 1]),
            "hcvq/persistent_entropy_h1": persistent_entropy(state.h1[:, 1] - state.h1[:, 0]),
        }
        if math.isfinite(self.hcvq.pairing_stability):
            metrics["hcvq/pairing_stability"] = self.hcvq.pairing_stability
        return metrics

    def teardown(self, stage: str) -> None:
        self.hcvq.close()
