"""The HC-VQ model: its loss by hand, gradient to the codebook, baseline, validation, resume."""

from __future__ import annotations

import functools
from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from vqlab.models import HCVQ, VQVAE
from vqlab.nets import ConvDecoder, ConvEncoder
from vqlab.quantizers import STEQuantizer
from vqlab.regularizers import HCVQRegularizer
from vqlab.topology import (
    HomologyLoss,
    Pairing,
    paired_homology_loss,
    persistent_entropy,
    vietoris_rips_diagrams,
)

SHAPE = (1, 8, 8)


def _parts(seed: int = 0, codebook_size: int = 12) -> dict:
    torch.manual_seed(seed)
    nets = {"hidden_channels": [8], "latent_dim": 4, "num_residual_blocks": 1}
    return {
        "encoder": ConvEncoder(SHAPE, residual_channels=4, **nets),
        "quantizer": STEQuantizer(codebook_size, 4),
        "decoder": ConvDecoder(SHAPE, residual_channels=4, **nets),
        "optimizer": functools.partial(torch.optim.Adam, lr=1e-2),
    }


def _hcvq(seed: int = 0, enabled: bool = True, period: int = 1, **pairing) -> HCVQ:
    pairing = {"pairing_every": 1, "asynchronous": False} | pairing
    regularizer = HCVQRegularizer(HomologyLoss(), period=period, enabled=enabled, **pairing)
    return HCVQ(**_parts(seed), hcvq=regularizer)


def _images(n: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_hc_term_added_to_the_vq_loss_equals_the_reference_formula_by_hand() -> None:
    model = _hcvq(period=1).train()
    x = _images()
    x_hat, quantized = model(x)
    with torch.no_grad():
        terms = model.losses(x, x_hat, quantized)
        plain = VQVAE.losses(model, x, x_hat, quantized)
    s = float(model.hcvq.entropy_scale.scale)
    h0, h1 = vietoris_rips_diagrams(model.quantizer.codebook.detach())
    persistence = (h1[:, 1] - h1[:, 0]).double()
    b1 = float((1 - torch.exp(-0.5 * (persistence / 1e-3) ** 2)).sum())
    eps0 = float(h0[:, 1].double().mean())
    expected = s * ((b1 - 100.0) ** 2 + 1e4 * (eps0 - 0.5) ** 2)
    assert s > 0
    assert float(terms["vq_loss"] - plain["vq_loss"]) == pytest.approx(expected, rel=1e-4)
    assert float(terms["loss"] - plain["loss"]) == pytest.approx(expected, rel=1e-4)


def test_gradient_reaching_the_codebook_through_the_hc_term_matches_finite_differences() -> None:
    model = _hcvq(period=1).train().double()
    x = _images().double()
    x_hat, quantized = model(x)
    term = model.losses(x, x_hat, quantized)["vq_loss"] - quantized.loss
    (grad,) = torch.autograd.grad(term, model.quantizer.codebook)
    # central differences of the same term (same s, same pairing) in float64
    scale = model.hcvq.entropy_scale.scale.double()
    pairing = model.hcvq.pairing.pairing
    codebook = model.quantizer.codebook.detach().clone()

    def term_at(points: torch.Tensor) -> float:
        return float(scale * paired_homology_loss(model.hcvq.homology, pairing, points).loss)

    step = 1e-6
    numeric = torch.zeros_like(codebook)
    for index in range(codebook.numel()):
        delta = torch.zeros_like(codebook).view(-1)
        delta[index] = step
        delta = delta.view_as(codebook)
        numeric.view(-1)[index] = (term_at(codebook + delta) - term_at(codebook - delta)) / (
            2 * step
        )
    assert grad.abs().max() > 0
    torch.testing.assert_close(grad, numeric, rtol=1e-4, atol=1e-6 * float(numeric.abs().max()))


def test_disabled_term_gives_exactly_the_plain_vqvae_loss() -> None:
    x = _images()
    hcvq = _hcvq(seed=3, enabled=False).train()
    plain = VQVAE(**_parts(seed=3)).train()
    hcvq_terms = hcvq.losses(x, *hcvq(x))
    plain_terms = plain.losses(x, *plain(x))
    for name, value in plain_terms.items():
        assert torch.equal(hcvq_terms[name], value), name
    assert hcvq.hcvq.last is None


def _trainer(root: Path, **kwargs) -> L.Trainer:
    options = {
        "accelerator": "cpu",
        "logger": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "default_root_dir": root,
        "limit_val_batches": 0,
    }
    return L.Trainer(**(options | kwargs))


def _loader() -> DataLoader:
    return DataLoader(TensorDataset(_images(24, seed=1)), batch_size=4)  # 6 batches, not shuffled


def test_validation_evaluates_the_pairing_without_refreshing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _hcvq(period=2, pairing_every=1)
    _trainer(tmp_path, max_steps=3).fit(model, _loader())
    computed = []
    monkeypatch.setattr(Pairing, "compute", lambda points: computed.append(points))
    before = (model.hcvq.pairing.steps, model.hcvq.entropy_scale.steps)
    pairing = model.hcvq.pairing.pairing
    _trainer(tmp_path, limit_val_batches=1.0).validate(model, _loader(), verbose=False)
    assert computed == []
    assert (model.hcvq.pairing.steps, model.hcvq.entropy_scale.steps) == before
    assert model.hcvq.pairing.pairing is pairing


@pytest.mark.parametrize("asynchronous", [False, True])
def test_resume_from_last_checkpoint_reproduces_uninterrupted_training(
    tmp_path: Path, asynchronous: bool
) -> None:
    # 6 steps per epoch; s every 4 steps and pairing every 5: both are mid-period at the cut
    settings = {"period": 4, "pairing_every": 5, "asynchronous": asynchronous}
    L.seed_everything(0)
    straight = _hcvq(**settings)
    _trainer(tmp_path / "straight", max_epochs=2).fit(straight, _loader())

    L.seed_everything(0)
    first = _hcvq(**settings)
    checkpoint = L.pytorch.callbacks.ModelCheckpoint(tmp_path / "ckpt", save_last=True)
    _trainer(tmp_path / "first", max_epochs=1, callbacks=[checkpoint]).fit(first, _loader())
    assert float(first.hcvq.entropy_scale.entropy_q_sum) != 0  # accumulators mid-period
    resumed = _hcvq(seed=123, **settings)  # different init: everything must come from the ckpt
    last = tmp_path / "ckpt" / "last.ckpt"
    _trainer(tmp_path / "second", max_epochs=2).fit(resumed, _loader(), ckpt_path=last)

    for (name, value), other in zip(
        straight.state_dict().items(), resumed.state_dict().values(), strict=True
    ):
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, other), name
    assert float(straight.hcvq.entropy_scale.scale) > 0
    assert resumed.hcvq.pairing.steps == straight.hcvq.pairing.steps == 12
    for mine, theirs in zip(
        resumed.hcvq.pairing.pairing.state_dict().values(),
        straight.hcvq.pairing.pairing.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(mine, theirs)


def test_reference_validation_updates_the_entropy_schedule_with_a_fresh_pairing(
    tmp_path: Path,
) -> None:
    model = _hcvq(period=2, pairing_every=10)
    model.hcvq.reference_validation = True
    _trainer(tmp_path, max_steps=3).fit(model, _loader())
    entropy_steps, pairing_steps = model.hcvq.entropy_scale.steps, model.hcvq.pairing.steps
    _trainer(tmp_path, limit_val_batches=1.0).validate(model, _loader(), verbose=False)
    assert model.hcvq.entropy_scale.steps == entropy_steps + 6  # one per validation batch
    assert model.hcvq.pairing.steps == pairing_steps  # the training pairing is left alone


def test_logged_diagrams_stay_valid_between_pairing_refreshes() -> None:
    torch.manual_seed(0)
    regularizer = HCVQRegularizer(HomologyLoss(), period=1, pairing_every=10, asynchronous=False)
    codebook = torch.nn.Parameter(torch.rand(24, 3) * 0.1)
    optimizer = torch.optim.SGD([codebook], lr=1e-3)
    stale_negative = 0
    for _ in range(12):
        quantized = STEQuantizer(24, 3)(torch.randn(8, 3))
        term = regularizer(codebook, _images(2), quantized)
        optimizer.zero_grad()
        term.backward()
        optimizer.step()
        state = regularizer.last
        assert (state.h1[:, 1] >= state.h1[:, 0]).all()
        stale = regularizer.pairing.pairing.diagrams(codebook.detach())[1]
        stale_negative += int((stale[:, 1] < stale[:, 0]).sum())
        for lengths in (state.h0[:, 1], state.h1[:, 1] - state.h1[:, 0]):
            assert torch.isfinite(persistent_entropy(lengths))
    assert state.diagram_step == 10  # the last refresh
    assert stale_negative > 0  # the reused pairing on moved codes does give negative bars
