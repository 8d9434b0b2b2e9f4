"""The linear VQ lab: Stiefel steps, hand-derived gradients, PCA + Lloyd, and every method's fit."""

from __future__ import annotations

import functools

import lightning as L
import pytest
import torch

from vqlab.callbacks import LinearVQStart
from vqlab.data import GaussianSubspaceDataModule
from vqlab.data.gaussian_subspace import planted_subspace_data
from vqlab.functional import displacement_projection, straight_through
from vqlab.models import KMeansStart, LinearVQ, ManualGradientLinearVQ, PCALloydVQ
from vqlab.models.linear_vq_gradients import straight_through_gradients
from vqlab.nets import StiefelLinearEncoder
from vqlab.nets.stiefel import polar_retraction, tangent_projection

GRADIENT_METHODS = ["ste", "ste_manual", "rotation", "displacement"]
DIM, RANK, LATENT, CODES = 16, 3, 4, 8


class OrthonormalityRecorder(L.Callback):
    """``max |W^T W - I|`` after every training step."""

    def __init__(self) -> None:
        self.errors: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.errors.append(float(pl_module.encoder.orthonormality_error()))


def eval_loss(model: LinearVQ, x: torch.Tensor) -> float:
    with torch.no_grad():
        return float(model.losses(x, model(x))["loss"])


VARIANTS = {
    "pca_lloyd": (PCALloydVQ, {}),
    "ste": (LinearVQ, {"estimator": "ste"}),
    "ste_manual": (ManualGradientLinearVQ, {}),
    "rotation": (LinearVQ, {"estimator": "rotation"}),
    "displacement": (LinearVQ, {"estimator": "displacement"}),
}


def lab_model(method: str, latent: int, seed: int = 0) -> LinearVQ:
    """The lab's ``method`` (a class, or ``LinearVQ`` with an estimator) at the test's sizes."""
    variant, options = VARIANTS[method]
    return variant(
        StiefelLinearEncoder(DIM, latent),
        functools.partial(torch.optim.SGD, lr=0.05),
        codebook_size=CODES,
        start=KMeansStart(samples=256, seed=seed),
        **options,
    )


@functools.cache
def fit(method: str, steps: int, random_start: bool) -> dict:
    """Train ``method`` on a small planted subspace; the losses before / after, W errors, state."""
    torch.manual_seed(0)
    data = GaussianSubspaceDataModule(DIM, RANK, num_train=512, num_eval=256, batch_size=64, seed=3)
    data.setup()
    model = lab_model(method, LATENT, seed=3)
    if random_start and method != "pca_lloyd":  # skip PCA + k-means: training must do the work
        model.initialized.fill_(True)
    before = eval_loss(model, data.splits["eval"])
    recorder = OrthonormalityRecorder()
    trainer = L.Trainer(
        max_steps=steps,
        max_epochs=-1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
        callbacks=[recorder, LinearVQStart()],
    )
    trainer.fit(model, datamodule=data)
    return {
        "before": before,
        "after": eval_loss(model, data.splits["eval"]),
        "errors": recorder.errors,
        "weight": model.encoder.weight.detach().clone(),
        "codebook": model.codebook.detach().clone(),
        "basis": data.basis,
    }


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_hand_derived_gradients_equal_autograd_to_1e5(dtype) -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(32, DIM, generator=generator, dtype=dtype)
    w = polar_retraction(torch.randn(DIM, LATENT, generator=generator, dtype=dtype))
    codebook = torch.randn(CODES, LATENT, generator=generator, dtype=dtype)
    w.requires_grad_(True)
    codebook.requires_grad_(True)
    z = x @ w
    indices = torch.cdist(z.detach(), codebook.detach()).argmin(-1)
    q = codebook[indices]
    alpha, beta = 0.7, 0.3  # distinct weights: a swapped term would show
    loss = (
        (x - straight_through(z, q) @ w.t()).pow(2).sum(-1).mean()
        + alpha * (z.detach() - q).pow(2).sum(-1).mean()
        + beta * (z - q.detach()).pow(2).sum(-1).mean()
    )
    loss.backward()
    grad_w, grad_codebook = straight_through_gradients(
        x, w.detach(), codebook.detach(), indices, alpha, beta
    )
    torch.testing.assert_close(grad_w, w.grad, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(grad_codebook, codebook.grad, atol=1e-5, rtol=1e-5)


def test_tangent_projection_is_tangent_and_retraction_lands_on_the_manifold() -> None:
    generator = torch.Generator().manual_seed(1)
    w = polar_retraction(torch.randn(DIM, LATENT, generator=generator, dtype=torch.float64))
    g = torch.randn(DIM, LATENT, generator=generator, dtype=torch.float64)
    tangent = tangent_projection(w, g)
    # the tangent space at W: W^T V + V^T W = 0; projecting twice changes nothing
    zero = torch.zeros(LATENT, LATENT, dtype=torch.float64)
    torch.testing.assert_close(w.t() @ tangent + tangent.t() @ w, zero)
    torch.testing.assert_close(tangent_projection(w, tangent), tangent)
    stepped = polar_retraction(w - 0.3 * tangent)
    torch.testing.assert_close(stepped.t() @ stepped, torch.eye(LATENT, dtype=torch.float64))


def test_displacement_projection_keeps_only_the_gradient_along_q_minus_z() -> None:
    z = torch.tensor([[1.0, 0.0], [2.0, 2.0]], requires_grad=True)
    q = torch.tensor([[1.0, 3.0], [2.0, 2.0]])  # second row: z = q, no direction, no gradient
    out = displacement_projection(z, q)
    torch.testing.assert_close(out, q)
    out.backward(torch.tensor([[5.0, 7.0], [1.0, 1.0]]))
    torch.testing.assert_close(z.grad, torch.tensor([[0.0, 7.0], [0.0, 0.0]]))


@pytest.mark.parametrize("method", GRADIENT_METHODS)
def test_encoder_is_orthonormal_to_1e5_after_every_step(method: str) -> None:
    result = fit(method, 30, random_start=True)
    assert len(result["errors"]) == 30
    assert max(result["errors"]) < 1e-5


@pytest.mark.parametrize("method", ["pca_lloyd", *GRADIENT_METHODS])
def test_every_method_lowers_the_loss_from_a_random_start(method: str) -> None:
    result = fit(method, 30, random_start=True)
    assert result["after"] < 0.7 * result["before"], result


def test_manual_gradients_train_exactly_like_autograd() -> None:
    autograd, manual = fit("ste", 30, random_start=False), fit("ste_manual", 30, random_start=False)
    torch.testing.assert_close(manual["weight"], autograd["weight"], atol=1e-5, rtol=0)
    torch.testing.assert_close(manual["codebook"], autograd["codebook"], atol=1e-5, rtol=0)


@pytest.mark.parametrize("latent", [RANK, LATENT])
def test_pca_lloyd_recovers_the_planted_subspace(latent: int) -> None:
    basis, train, _ = planted_subspace_data(DIM, RANK, 4.0, 0.25, 512, 16, seed=3)
    model = lab_model("pca_lloyd", latent)
    model.initialize(train.float())
    # cosines of the principal angles between span(U) and span(W): all 1 when span(U) in span(W)
    cosines = torch.linalg.svdvals(basis.float().t() @ model.encoder.weight.detach())
    torch.testing.assert_close(cosines, torch.ones(RANK), atol=1e-5, rtol=0)


def test_study_data_is_drawn_in_sequence_from_one_seed() -> None:
    _, train, evaluation = planted_subspace_data(8, 2, 4.0, 0.25, 10, 5, seed=42)
    _, longer_train, _ = planted_subspace_data(8, 2, 4.0, 0.25, 15, 5, seed=42)
    # one stream: the basis, then the training rows, then the evaluation rows right after them
    torch.testing.assert_close(longer_train, torch.cat([train, evaluation]))


def test_resuming_keeps_the_trained_weights_instead_of_redoing_the_kmeans_start(tmp_path) -> None:
    def trainer(**kwargs) -> L.Trainer:
        return L.Trainer(
            max_steps=8,
            max_epochs=-1,
            accelerator="cpu",
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            limit_val_batches=0,
            num_sanity_val_steps=0,
            **kwargs,
        )

    def model_and_data() -> tuple[LinearVQ, GaussianSubspaceDataModule]:
        data = GaussianSubspaceDataModule(DIM, RANK, num_train=512, num_eval=64, batch_size=64)
        return lab_model("ste", LATENT), data

    trained, data = model_and_data()
    checkpoint = L.pytorch.callbacks.ModelCheckpoint(dirpath=tmp_path, save_last=True)
    trainer(callbacks=[checkpoint, LinearVQStart()]).fit(trained, datamodule=data)
    resumed, data = model_and_data()
    trainer(enable_checkpointing=False).fit(
        resumed, datamodule=data, ckpt_path=checkpoint.last_model_path
    )
    assert bool(resumed.initialized)
    torch.testing.assert_close(resumed.encoder.weight, trained.encoder.weight)
    torch.testing.assert_close(resumed.codebook, trained.codebook)
