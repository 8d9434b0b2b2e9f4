"""Categorical VQ-VAE whose feature-to-category assignment is learned end to end.

x (b, D) -> A = SoftAssignment() (D, K) -> x_k = x * A[:, k] -> z_k = E_k(x_k) -> z_q,k = Q_k(z_k)
-> x_hat = Dec([z_q,1 ... z_q,K]): every category k has its own encoder and its own codebook
quantizer; one decoder reads all the codes. Loss (the seed's, its default weights in the config):

    L = MSE(x_hat, x) + mean_k vq_loss_k + w_o orthogonality(z) + w_b balance(P) + w_f family(P)

with ``P = softmax(alpha)`` (``vqlab.regularizers.assignment``). The assignment is trained at its
own learning rate (the seed: 10x lower than the model's) in a second optimizer parameter group,
gradients are clipped by norm, and the temperature T of A's Gumbel-softmax is annealed by the
``TemperatureAnnealing`` callback. The VQ-VAE is van den Oord et al., 2017, arXiv:1711.00937.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim import Optimizer

from vqlab.errors import check_non_negative, check_positive
from vqlab.models.logged_module import LoggedModule, StepOutput
from vqlab.models.optimized import OptimizerFactory, SchedulerFactory
from vqlab.nets import CategoryEncoders, route
from vqlab.quantizers import QuantizerOutput, SoftAssignment, VectorQuantizer
from vqlab.regularizers import AssignmentLosses

QuantizerFactory = Callable[[], VectorQuantizer]


class LearnableVQVAE(LoggedModule):
    """Learnable-assignment categorical VQ-VAE; batches are tuples whose first element is x.

    ``quantizer`` is a factory (Hydra ``_partial_: true``) called once per category, so each
    category gets its own freshly initialised codebook of any of the package's quantizers.
    ``assignment_lr`` is the learning rate of the assignment's parameters (the other parameters
    take the optimizer's); ``gradient_clip_val`` clips the global gradient norm through
    Lightning's ``clip_gradients`` (a trainer-level ``gradient_clip_val`` takes precedence);
    ``freeze_after_epochs`` freezes the routing to the hard assignment at the start of that epoch
    (``freeze()`` does it on demand; 0 trains a static, initialisation-only assignment). Under DDP,
    freezing in the middle of a run stops the assignment's gradients, which DDP's reducer rejects
    unless ``trainer.strategy=ddp_find_unused_parameters_true``; ``freeze_after_epochs=0``
    (frozen in ``setup``, before DDP wraps the model) and a run resumed frozen need nothing.
    Logs ``{stage}/loss``, ``{stage}/recon_mse``, ``{stage}/vq_loss``, in training
    ``assign/{balance,orthogonality,family,max_prob}`` (and ``assign/category_recon`` when that
    term is on) and ``temperature``, and every
    ``usage_window`` optimizer steps ``codebook/*`` over the K codebooks' joint histogram
    (K * codebook_size codes) and ``codebook/category_<k>/*`` per category's codebook.
    """

    module_arguments = (
        *LoggedModule.module_arguments,
        "assignment",
        "encoders",
        "quantizer",
        "decoder",
        "regularizer",
    )

    def __init__(
        self,
        assignment: SoftAssignment,
        encoders: CategoryEncoders,
        quantizer: QuantizerFactory,
        decoder: nn.Module,
        optimizer: OptimizerFactory,
        regularizer: AssignmentLosses | None = None,
        scheduler: SchedulerFactory | None = None,
        scheduler_interval: str = "epoch",
        assignment_lr: float = 2e-4,
        gradient_clip_val: float | None = 1.0,
        freeze_after_epochs: int | None = None,
        usage_window: int = 50,
    ) -> None:
        super().__init__(optimizer, scheduler, scheduler_interval, usage_window)
        check_positive("assignment_lr", assignment_lr)
        if gradient_clip_val is not None:
            check_positive("gradient_clip_val", gradient_clip_val)
        if freeze_after_epochs is not None:
            check_non_negative("freeze_after_epochs", freeze_after_epochs)
        self.save_hyperparameters(ignore=list(self.module_arguments))
        self.assignment = assignment
        self.encoders = encoders
        self.quantizers = nn.ModuleList(quantizer() for _ in range(assignment.num_categories))
        self.decoder = decoder
        self.regularizer = regularizer if regularizer is not None else AssignmentLosses()
        self.track_code_usage()

    def codebooks(self) -> dict[str, nn.Module]:
        return {f"category_{k}": quantizer for k, quantizer in enumerate(self.quantizers)}

    def forward(self, x: Tensor) -> tuple[Tensor, list[QuantizerOutput], Tensor]:
        """Reconstruction (shape of x), each category's quantizer output, latents (b, K, n, d)."""
        routed = route(x.flatten(1), self.assignment())  # (b, K, D)
        z_e = self.encoders(routed)  # (b, K, n, d)
        outputs = [quantizer(z_e[:, k]) for k, quantizer in enumerate(self.quantizers)]
        z_q = torch.stack([out.quantized for out in outputs], 1)  # (b, K, n, d)
        x_hat = self.decoder(z_q.flatten(1, 2))
        return x_hat.reshape(x.shape), outputs, z_e

    def losses(
        self, x: Tensor, x_hat: Tensor, outputs: list[QuantizerOutput], z_e: Tensor
    ) -> dict[str, Tensor]:
        """Named terms (``assign_*`` unweighted); ``loss`` is the weighted total."""
        recon_mse = F.mse_loss(x_hat.float(), x.float())
        vq_loss = torch.stack([out.loss for out in outputs]).mean()
        probabilities = self.assignment_probabilities()
        assign = self.regularizer(probabilities, self.assignment.mask, z_e.flatten(2), x.flatten(1))
        return {
            "loss": recon_mse + vq_loss + assign["total"],
            "recon_mse": recon_mse,
            "vq_loss": vq_loss,
            **{f"assign_{name}": value for name, value in assign.items() if name != "total"},
        }

    def assignment_probabilities(self) -> Tensor:
        """``P`` (D, K): soft while learning, the fixed one-hot once frozen."""
        if self.assignment.is_frozen:
            return self.assignment.hard_matrix()
        return self.assignment.probabilities()

    def freeze(self) -> None:
        """Convert to a fixed hard routing (no noise, no assignment gradient)."""
        self.assignment.freeze()

    def parameter_groups(self) -> list[dict[str, Any]]:
        """Model parameters at the optimizer's lr, the assignment's at ``assignment_lr``."""
        assignment = {id(p) for p in self.assignment.parameters()}
        rest = [p for p in self.parameters() if id(p) not in assignment]
        return [
            {"params": rest},
            {"params": list(self.assignment.parameters()), "lr": self.hparams.assignment_lr},
        ]

    def configure_gradient_clipping(
        self,
        optimizer: Optimizer,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        value = (
            gradient_clip_val if gradient_clip_val is not None else self.hparams.gradient_clip_val
        )
        if value:
            self.clip_gradients(optimizer, value, gradient_clip_algorithm or "norm")

    def setup(self, stage: str) -> None:
        super().setup(stage)
        if stage == "fit" and self.hparams.freeze_after_epochs == 0:
            self.freeze()  # before DDP wraps the model: its reducer never expects these gradients

    def on_train_epoch_start(self) -> None:
        after = self.hparams.freeze_after_epochs
        if after is not None and self.current_epoch >= after and not self.assignment.is_frozen:
            self.freeze()

    def step(self, batch: tuple[Tensor, ...], stage: str) -> StepOutput:
        x = batch[0]
        x_hat, outputs, z_e = self(x)
        terms = self.losses(x, x_hat, outputs, z_e)
        main = {name: terms[name] for name in ("loss", "recon_mse", "vq_loss")}
        statistics: dict[str, Tensor | float] = {}
        if stage == "train":
            statistics = {
                f"assign/{name.removeprefix('assign_')}": value.detach()
                for name, value in terms.items()
                if name.startswith("assign_")
            }
            probabilities = self.assignment_probabilities().detach()
            statistics["assign/max_prob"] = probabilities.amax(-1).mean()
            statistics["temperature"] = self.assignment.temperature
        counts = torch.cat([out.counts for out in outputs])
        return StepOutput(
            main,
            x.shape[0],
            counts=counts,
            training_statistics=statistics,
            evaluation=self.image_metrics(x_hat, x, stage),
        )
