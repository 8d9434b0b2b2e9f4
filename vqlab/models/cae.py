"""The concrete autoencoder as a LightningModule: concrete selector -> decoder.

Abid, Balin & Zou, "Concrete Autoencoders: Differentiable Feature Selection and
Reconstruction", ICML 2019, arXiv:1901.09346, Sec. 3: ``L = ||x - D(M x)||^2``; with the GJS
regularizer of Nilsson et al., "Indirectly Parameterized Concrete Autoencoders", ICML 2024,
arXiv:2403.00563: ``L = MSE(x_hat, x) - gjs_weight * GJS(pi_1, ..., pi_k)``.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from vqlab.errors import check_non_negative
from vqlab.functional import code_histogram
from vqlab.models.logged_module import LoggedModule, StepOutput
from vqlab.models.optimized import OptimizerFactory, SchedulerFactory
from vqlab.quantizers import ConcreteSelector


class ConcreteAutoencoder(LoggedModule):
    """Feature-selecting autoencoder ``x -> z = M x`` (k of D features) ``-> x_hat = D(z)``.

    Inputs of any shape are flattened to (b, D) for the selector; the decoder returns the input's
    shape. Training reconstructs from a Gumbel-softmax sample of the selection (stochastic),
    validation and test from the argmax features (deterministic). Logs ``{stage}/loss``,
    ``{stage}/recon_mse``, and in training ``cae/gjs``, ``cae/mean_max_prob`` (mean over selectors
    of ``max_j pi_ij``: the CAE paper's convergence measure), ``cae/unique_features`` (distinct
    argmax features), ``cae/unique_fraction`` (that over k) and ``temperature``.
    Batches are tuples whose first element is the input ``x``.
    """

    module_arguments = (*LoggedModule.module_arguments, "selector", "decoder")

    def __init__(
        self,
        selector: ConcreteSelector,
        decoder: nn.Module,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        scheduler_interval: str = "epoch",
        gjs_weight: float = 0.0,
    ) -> None:
        super().__init__(optimizer, scheduler, scheduler_interval)
        check_non_negative("gjs_weight", gjs_weight)
        self.save_hyperparameters(ignore=list(self.module_arguments))
        self.selector = selector
        self.decoder = decoder

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Reconstruction ``x_hat`` (shape of ``x``) and the selected features ``z`` (b, k)."""
        z = self.selector(x.flatten(1))
        return self.decoder(z).reshape(x.shape), z

    def losses(self, x: Tensor, x_hat: Tensor) -> dict[str, Tensor]:
        """Named loss terms; ``loss`` is their total."""
        recon_mse = F.mse_loss(x_hat.float(), x.float())
        gjs = self.selector.gjs_divergence()
        return {"loss": recon_mse - self.hparams.gjs_weight * gjs, "recon_mse": recon_mse}

    def selection_statistics(self) -> dict[str, Tensor | float]:
        """GJS, mean max probability and distinct argmax features of the current selectors."""
        gjs = self.selector.gjs_divergence().detach()
        used = code_histogram(self.selector.selected_features(), self.selector.num_features) > 0
        unique = used.sum().float()
        return {
            "cae/gjs": gjs,
            "cae/mean_max_prob": self.selector.probabilities().detach().amax(-1).mean(),
            "cae/unique_features": unique,
            "cae/unique_fraction": unique / self.selector.num_selected,
            "temperature": self.selector.temperature,
        }

    def step(self, batch: tuple[Tensor, ...], stage: str) -> StepOutput:
        x = batch[0]
        x_hat, _ = self(x)
        statistics = self.selection_statistics() if stage == "train" else {}
        return StepOutput(
            self.losses(x, x_hat),
            x.shape[0],
            training_statistics=statistics,
            evaluation=self.image_metrics(x_hat, x, stage),
        )
