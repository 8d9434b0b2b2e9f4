"""The linear VQ-VAE lab: ``X -> Z = X W -> Q = E[k] -> X_hat = Q W^T``, ``W`` on the Stiefel
manifold, trained several ways on the same model (each a class or an estimator):

- ``LinearVQ(estimator=...)``: autograd through the nearest-code lookup with one of the shared
  gradient estimators (``vqlab.quantizers.estimators``): ``ste`` (Bengio et al. 2013,
  arXiv:1308.3432), ``rotation`` (the rotation trick, Fifty et al. 2024, arXiv:2410.06424,
  Sec. 4.2) or ``displacement`` (the gradient projected on ``(q - z)/|q - z|``: what the
  reproduced study calls "rotation"); ``W`` takes an SGD step on its Riemannian gradient, then
  the polar retraction;
- ``ManualGradientLinearVQ``: the straight-through update with gradients derived by hand
  (``linear_vq_gradients``), equal to autograd's to float precision;
- ``PCALloydVQ``: ``W`` = the top-m principal directions, ``E`` = Lloyd's k-means; no gradient
  step (``linear_vq_variants``).

Loss (per-sample sums over coordinates, averaged over the batch; van den Oord et al. 2017,
arXiv:1711.00937, Eq. 3, ``alpha`` weighting the codebook term):
``|x - x_hat|^2 + alpha |sg[z] - q|^2 + beta |z - sg[q]|^2``.

Every variant starts from PCA and k-means++ + Lloyd (``KMeansStart``) on the training rows, which
the ``LinearVQStart`` callback reads and hands to ``initialize``. The study is the linear VQ-VAE
comparison in the public repository nikitus20/vqvae.

Deviation: the study's autograd runs take a Euclidean SGD step on ``W`` before the retraction;
here every method steps along the tangent projection (the same to first order in the step).
Deviation: the study's manual run is a different update from its autograd one (a per-code
codebook step ``2 alpha (e_j - mean of its batch rows)``, and half of the gradient's component
normal to span W); ``ManualGradientLinearVQ`` is the exact gradient, so that it can be tested
against autograd. ``experiments/linear_vq.py`` re-derives the study's update and measures the
difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vqlab.clustering.kmeans import lloyd
from vqlab.clustering.numpy_seeding import numpy_kmeans_plus_plus
from vqlab.errors import check_non_negative, check_positive
from vqlab.functional import code_histogram, nearest_code
from vqlab.models.logged_module import LoggedModule, StepOutput
from vqlab.models.optimized import OptimizerFactory
from vqlab.nets.stiefel import StiefelLinearEncoder, TiedLinearDecoder, principal_directions
from vqlab.quantizers.estimators import resolve_estimator


@dataclass(frozen=True)
class KMeansStart:
    """The lab's start: ``W`` from PCA, ``E`` from k-means++ (``numpy.random.default_rng(seed)``,
    as the study draws) and ``lloyd_iterations`` Lloyd steps on the first ``samples`` training
    rows in dataset order (``None``: all). The study: 20 steps on 8000 rows."""

    samples: int | None = 8000
    lloyd_iterations: int = 20
    seed: int = 0

    def __post_init__(self) -> None:
        if self.samples is not None:
            check_positive("start.samples", self.samples)
        check_non_negative("start.lloyd_iterations", self.lloyd_iterations)


class LinearVQOutput(NamedTuple):
    """What ``LinearVQ`` returns for a batch ``x`` (b, ...); ``[0]`` is the reconstruction."""

    x_hat: Tensor  # shape of x
    z: Tensor  # (b, m) encoder output
    q: Tensor  # (b, m) nearest codes, gradient to the codebook
    indices: Tensor  # (b,) int64


class LinearVQ(LoggedModule):
    """Linear VQ-VAE with a Stiefel encoder, tied decoder and a K x m codebook; see the module.

    Logs ``{stage}/loss``, ``{stage}/recon_sse`` (per-sample *sum* of squared errors over the D
    coordinates, averaged over samples: the study's measure; the other models' ``recon_mse`` is a
    per-element mean), ``{stage}/vq_loss``, ``{stage}/in_subspace_distortion`` (``|z - q|^2`` per
    sample) and the code usage (``vqlab.models.logged_module``). Inputs of any shape are
    flattened to (b, D). ``optimizer`` (a partial, SGD in the study) steps ``W`` at its own
    ``lr`` and ``E`` at ``codebook_lr``.
    """

    module_arguments = (*LoggedModule.module_arguments, "encoder", "start")
    sparse_training_logs = True  # a step costs ~1 ms here, a Lightning log call about as much
    uses_autograd = True

    def __init__(
        self,
        encoder: StiefelLinearEncoder,
        optimizer: OptimizerFactory,
        codebook_size: int = 32,
        estimator: str = "ste",
        alpha: float = 1.0,
        beta: float = 0.25,
        codebook_lr: float = 0.2,
        start: KMeansStart | None = None,
        usage_window: int = 50,
    ) -> None:
        super().__init__(optimizer, usage_window=usage_window)
        check_positive("codebook_size", codebook_size)
        for name, value in (("alpha", alpha), ("beta", beta), ("codebook_lr", codebook_lr)):
            check_non_negative(name, value)
        self.save_hyperparameters(ignore=list(self.module_arguments))
        # every step is optimizer step + retraction (or no step at all): done here, by hand
        self.automatic_optimization = False
        self.estimator = resolve_estimator(estimator)
        self.start = start if start is not None else KMeansStart()
        self.encoder = encoder
        self.decoder = TiedLinearDecoder(encoder)
        self.codebook = nn.Parameter(torch.randn(codebook_size, encoder.latent_dim) * 0.1)
        self.register_buffer("initialized", torch.tensor(False))
        self.track_code_usage()

    def codebook_sizes(self) -> dict[str, int]:
        return {"": self.hparams.codebook_size}

    def parameter_groups(self) -> list[dict]:
        return [
            {"params": [self.encoder.weight]},
            {"params": [self.codebook], "lr": self.hparams.codebook_lr},
        ]

    def forward(self, x: Tensor) -> LinearVQOutput:
        """Reconstruction (through the estimator), latents, codes and their indices."""
        flat = x.flatten(1).to(self.encoder.weight.dtype)
        z = self.encoder(flat)
        indices = nearest_code(z, self.codebook)  # float32 also under autocast, no graph
        q = F.embedding(indices, self.codebook)
        x_hat = self.decoder(self.estimator(z, q))
        return LinearVQOutput(x_hat.reshape(x.shape), z, q, indices)

    def losses(self, x: Tensor, out: LinearVQOutput) -> dict[str, Tensor]:
        """Named terms of the loss (each a per-sample sum, batch mean); ``loss`` is the total."""
        z, q = out.z, out.q
        recon = (x - out.x_hat).flatten(1).pow(2).sum(-1).mean()
        codebook = self.hparams.alpha * (z.detach() - q).pow(2).sum(-1).mean()
        commitment = self.hparams.beta * (z - q.detach()).pow(2).sum(-1).mean()
        return {
            "loss": recon + codebook + commitment,
            "recon_sse": recon,
            "vq_loss": codebook + commitment,
            "in_subspace_distortion": (z - q).detach().pow(2).sum(-1).mean(),
        }

    def evaluate(self, x: Tensor) -> tuple[LinearVQOutput, StepOutput]:
        """The forward pass and its ``StepOutput``."""
        out = self(x)
        counts = code_histogram(out.indices, self.hparams.codebook_size)
        return out, StepOutput(self.losses(x, out), x.shape[0], counts=counts)

    def step(self, batch: tuple[Tensor, ...], stage: str) -> StepOutput:
        return self.evaluate(batch[0])[1]

    def training_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> Tensor:
        x = batch[0]
        with torch.set_grad_enabled(self.uses_autograd):
            out, step = self.evaluate(x)
        # recorded before the update, as under automatic optimisation: ``global_step`` is still
        # this step's index, so windows and logged steps line up with the other models'
        self.record(step, "train", batch_idx)
        self.descend(x, out, step.loss)
        return step.loss.detach()

    def descend(self, x: Tensor, out: LinearVQOutput, loss: Tensor) -> None:
        """One step: gradients, tangent projection of ``W``'s, optimizer step, retraction."""
        optimizer = self.optimizers()
        optimizer.zero_grad()
        self.set_gradients(x, out, loss)
        self.encoder.project_gradient_()
        optimizer.step()
        self.encoder.retract_()

    def set_gradients(self, x: Tensor, out: LinearVQOutput, loss: Tensor) -> None:
        """The parameters' ``.grad``: autograd through the estimator."""
        self.manual_backward(loss)

    @torch.no_grad()
    def initialize(self, x: Tensor) -> None:
        """PCA for ``W``, ``KMeansStart``'s k-means for ``E``, from training rows ``x`` (n, ...)."""
        x = x.flatten(1).double()
        self.encoder.set_weight(principal_directions(x, self.encoder.latent_dim))
        rows, iterations = self.codebook_start(x)
        z = rows @ self.encoder.weight.double()
        centres = numpy_kmeans_plus_plus(z, self.hparams.codebook_size, self.start.seed)
        self.codebook.copy_(lloyd(z.float(), centres.float(), iterations)[0])
        self.initialized.fill_(True)

    def codebook_start(self, x: Tensor) -> tuple[Tensor, int]:
        """The rows k-means sees and its Lloyd steps: ``KMeansStart``'s."""
        return x[: self.start.samples], self.start.lloyd_iterations
