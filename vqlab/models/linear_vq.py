"""The linear VQ-VAE lab: ``X -> Z = X W -> Q = E[k] -> X_hat = Q W^T``, ``W`` on the Stiefel
manifold, trained four ways on the same model.

Methods (``method``):

- ``pca_lloyd``: ``W`` = the top-m principal directions of the training set, ``E`` = Lloyd's
  k-means (k-means++ seeding, ``lloyd_iterations``) on ``Z``; no gradient step (the training
  loop runs one epoch of no-ops, so the method goes through ``fit`` like the others).
- ``ste``: autograd with the straight-through estimator (Bengio et al. 2013, arXiv:1308.3432);
  ``W`` takes an SGD step on its Riemannian gradient, then the polar retraction.
- ``ste_manual``: the same update with the gradients derived by hand
  (``linear_vq_gradients.straight_through_gradients``, derivation in its docstring), through
  Lightning's manual optimisation; equal to ``ste``'s to float precision.
- ``rotation``: the rotation trick (Fifty et al., 2024, arXiv:2410.06424, Sec. 4.2).
- ``displacement``: the gradient to ``z`` projected on ``(q - z)/|q - z|``
  (``linear_vq_gradients.displacement_projection``): what the reproduced study calls "rotation".

Loss (per-sample sums over coordinates, averaged over the batch; van den Oord et al. 2017,
arXiv:1711.00937, Eq. 3, ``alpha`` weighting the codebook term):
``|x - x_hat|^2 + alpha |sg[z] - q|^2 + beta |z - sg[q]|^2``.

Every gradient method starts from PCA and k-means++ with ``init_lloyd_iterations`` Lloyd steps on
the first ``init_samples`` training rows (in dataset order, ``training_rows``); ``pca_lloyd`` runs
``lloyd_iterations`` on every row (the study: 20 on 8000 rows, and 30 on all for the baseline).
The study is the linear VQ-VAE comparison in the public repository nikitus20/vqvae.

Deviation: the study's autograd runs take a Euclidean SGD step on ``W`` before the retraction;
here every method steps along the tangent projection (the same to first order in the step).
Deviation: the study's manual run is a different update from its autograd one (a per-code
codebook step ``2 alpha (e_j - mean of its batch rows)``, and half of the gradient's component
normal to span W); ``ste_manual`` is the exact gradient, so that it can be tested against
autograd. ``experiments/linear_vq.py`` re-derives the study's update and measures the difference.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, SequentialSampler

from vqlab.clustering.kmeans import lloyd
from vqlab.data.device_loader import DeviceBatchLoader
from vqlab.data.resumable import ResumableSampler
from vqlab.errors import ConfigValueError, check_non_negative, check_positive
from vqlab.functional import code_histogram, nearest_code, rotation_trick, straight_through
from vqlab.metrics import CodeUsage
from vqlab.models.linear_vq_gradients import displacement_projection, straight_through_gradients
from vqlab.models.linear_vq_init import numpy_kmeans_plus_plus
from vqlab.models.optimized import OptimizedModule, OptimizerFactory
from vqlab.nets.stiefel import StiefelLinearEncoder, TiedLinearDecoder, principal_directions

ESTIMATORS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "pca_lloyd": straight_through,
    "ste": straight_through,
    "ste_manual": straight_through,
    "rotation": rotation_trick,
    "displacement": displacement_projection,
}


class LinearVQOutput(NamedTuple):
    """What ``LinearVQ`` returns for a batch ``x`` (b, ...); ``[0]`` is the reconstruction."""

    x_hat: Tensor  # shape of x
    z: Tensor  # (b, m) encoder output
    q: Tensor  # (b, m) nearest codes, gradient to the codebook
    indices: Tensor  # (b,) int64


class LinearVQ(OptimizedModule):
    """Linear VQ-VAE with a Stiefel encoder, tied decoder and a K x m codebook; see the module.

    Logs ``{stage}/loss``, ``{stage}/recon_mse`` (per-sample *sum* of squared errors over the D
    coordinates, averaged over samples: the study's definition, not the per-element mean of the
    other models), ``{stage}/vq_loss``, ``{stage}/in_subspace_distortion`` (``|z - q|^2`` per
    sample), and the code usage (``entropy``, ``perplexity``, ``usage``, ``dead_fraction``,
    ``utilisation`` = entropy / ln K) every ``usage_window`` training steps under ``codebook/``
    and over each validation / test epoch under ``val/`` / ``test/``. Inputs of any shape are
    flattened to (b, D). Optimiser: ``optimizer`` (a partial, SGD in the study) over two groups,
    ``W`` at ``encoder_lr`` and ``E`` at ``codebook_lr``.
    """

    module_arguments = (*OptimizedModule.module_arguments, "encoder")

    def __init__(
        self,
        encoder: StiefelLinearEncoder,
        optimizer: OptimizerFactory,
        method: str = "ste",
        codebook_size: int = 32,
        alpha: float = 1.0,
        beta: float = 0.25,
        encoder_lr: float = 0.05,
        codebook_lr: float = 0.2,
        lloyd_iterations: int = 30,
        init_lloyd_iterations: int = 20,
        init_samples: int | None = 8000,
        seed: int = 0,
        usage_window: int = 50,
    ) -> None:
        super().__init__(optimizer)
        if method not in ESTIMATORS:
            raise ConfigValueError("method", f"one of {', '.join(ESTIMATORS)}", method)
        check_positive("codebook_size", codebook_size)
        for name, value in (("alpha", alpha), ("beta", beta), ("encoder_lr", encoder_lr)):
            check_non_negative(name, value)
        check_non_negative("codebook_lr", codebook_lr)
        check_non_negative("lloyd_iterations", lloyd_iterations)
        check_non_negative("init_lloyd_iterations", init_lloyd_iterations)
        check_positive("usage_window", usage_window)
        if init_samples is not None:
            check_positive("init_samples", init_samples)
        self.save_hyperparameters(ignore=list(self.module_arguments))
        # every step is optimizer step + retraction (or no step at all): done here, by hand
        self.automatic_optimization = False
        self.encoder = encoder
        self.decoder = TiedLinearDecoder(encoder)
        self.codebook = nn.Parameter(torch.randn(codebook_size, encoder.latent_dim) * 0.1)
        self.estimator = ESTIMATORS[method]
        self.register_buffer("initialized", torch.tensor(False))
        self.train_usage = CodeUsage(codebook_size)
        self.val_usage = CodeUsage(codebook_size)
        self.train_usage.persistent(True)

    def parameter_groups(self) -> list[dict]:
        return [
            {"params": [self.encoder.weight], "lr": self.hparams.encoder_lr},
            {"params": [self.codebook], "lr": self.hparams.codebook_lr},
        ]

    def forward(self, x: Tensor) -> LinearVQOutput:
        """Reconstruction (through the method's estimator), latents, codes and their indices."""
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
            "recon_mse": recon,
            "vq_loss": codebook + commitment,
            "in_subspace_distortion": (z - q).detach().pow(2).sum(-1).mean(),
        }

    @torch.no_grad()
    def initialize(self, x: Tensor) -> None:
        """PCA for ``W`` and k-means++ + Lloyd for ``E`` from training rows ``x`` (n, ...).

        ``pca_lloyd`` clusters every row with ``lloyd_iterations`` steps (the baseline); the
        gradient methods the first ``init_samples`` rows with ``init_lloyd_iterations`` steps.
        k-means++ draws from ``numpy.random.default_rng(seed)``.
        """
        x = x.flatten(1).double()
        self.encoder.set_weight(principal_directions(x, self.encoder.latent_dim))
        if self.hparams.method == "pca_lloyd":
            rows, iterations = x, self.hparams.lloyd_iterations
        else:
            rows, iterations = x[: self.hparams.init_samples], self.hparams.init_lloyd_iterations
        z = rows @ self.encoder.weight.double()
        centres = numpy_kmeans_plus_plus(z, self.hparams.codebook_size, self.hparams.seed)
        self.codebook.copy_(lloyd(z.float(), centres.float(), iterations)[0])
        self.initialized.fill_(True)

    def on_train_start(self) -> None:
        if not bool(self.initialized):
            datamodule = self.trainer.datamodule
            hook = (
                datamodule.on_after_batch_transfer if datamodule else self.on_after_batch_transfer
            )
            rows = training_rows(self.trainer.train_dataloader, lambda batch: hook(batch, 0))
            self.initialize(rows.to(self.device))
            # every rank initialises from its own shard: rank 0's result is everyone's
            for tensor in (self.encoder.weight, self.codebook):
                tensor.data.copy_(self.trainer.strategy.broadcast(tensor.data, src=0))
        if self.hparams.method == "pca_lloyd":
            # nothing to train: Lightning runs its minimum of one epoch of no-op steps
            self.trainer.should_stop = True

    def training_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> Tensor:
        x = batch[0]
        method = self.hparams.method
        optimizer = self.optimizers()
        # a step costs ~1 ms here and a Lightning log call about as much: log only on the steps
        # whose logs the trainer writes (global_step is this step's index until the update), and
        # on the first, so that a one-step run (fast_dev_run) has its training metrics
        step = self.global_step
        log_now = step == 0 or (step + 1) % self.trainer.log_every_n_steps == 0
        with torch.set_grad_enabled(method not in ("pca_lloyd", "ste_manual")):
            out = self(x)
            terms = self.losses(x, out)
        if method != "pca_lloyd":
            optimizer.zero_grad()
            if method == "ste_manual":
                grad_w, grad_codebook = straight_through_gradients(
                    x.flatten(1).to(self.codebook),
                    self.encoder.weight,
                    self.codebook,
                    out.indices,
                    self.hparams.alpha,
                    self.hparams.beta,
                )
                self.encoder.weight.grad = grad_w
                self.codebook.grad = grad_codebook
            else:
                self.manual_backward(terms["loss"])
            self.encoder.project_gradient_()
            optimizer.step()
            self.encoder.retract_()
        if log_now:
            self.log_terms(terms, "train", x.shape[0])
        self.train_usage.update(code_histogram(out.indices, self.hparams.codebook_size))
        if (self.global_step + 1) % self.hparams.usage_window == 0:
            self.log_usage(self.train_usage, "codebook")
        return terms["loss"].detach()

    def _eval_step(self, batch: tuple[Tensor, ...], stage: str) -> Tensor:
        x = batch[0]
        out = self(x)
        terms = self.losses(x, out)
        self.log_terms(terms, stage, x.shape[0])
        self.val_usage.update(code_histogram(out.indices, self.hparams.codebook_size))
        return terms["loss"]

    def validation_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> Tensor:
        return self._eval_step(batch, "val")

    def test_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> Tensor:
        return self._eval_step(batch, "test")

    def on_validation_epoch_start(self) -> None:
        self.val_usage.reset()

    def on_validation_epoch_end(self) -> None:
        self.log_usage(self.val_usage, "val")

    def on_test_epoch_start(self) -> None:
        self.val_usage.reset()

    def on_test_epoch_end(self) -> None:
        self.log_usage(self.val_usage, "test")

    def log_terms(self, terms: dict[str, Tensor], stage: str, batch_size: int) -> None:
        on_step = stage == "train"
        self.log_dict(
            {f"{stage}/{name}": value.detach() for name, value in terms.items()},
            prog_bar=True,
            on_step=on_step,
            on_epoch=not on_step,
            batch_size=batch_size,
            sync_dist=not on_step,
        )

    def log_usage(self, usage: CodeUsage, prefix: str) -> None:
        """Log the window's code usage (and utilisation = entropy / ln K); start a new window."""
        values = usage.compute()
        values["utilisation"] = values["entropy"] / math.log(max(self.hparams.codebook_size, 2))
        self.log_dict({f"{prefix}/{name}": value for name, value in values.items()})
        usage.reset()


def training_rows(loader: Iterable, transform: Callable[[Any], Any]) -> Tensor:
    """The inputs of a training loader in dataset order, not the shuffled order it serves.

    A ``DeviceBatchLoader`` or ``DataLoader`` is re-read with a sequential order (the same rows on
    every rank: the sampler does the sharding); any other iterable is read once as served.
    ``transform`` is applied to each batch first (the datamodule's ``on_after_batch_transfer``,
    e.g. uint8 images scaled to [-1, 1]).
    """
    if isinstance(loader, DeviceBatchLoader):
        count = len(loader.tensors[0])
        order = ResumableSampler(SequentialSampler(range(count)))
        loader = DeviceBatchLoader(loader.tensors, loader.batch_size, order)
    elif isinstance(loader, DataLoader):
        loader = DataLoader(loader.dataset, batch_size=loader.batch_size or 1)
    return torch.cat([transform(batch)[0] for batch in loader])
