"""Gradient codebooks: rotation-trick estimator, cosine codes, SimVQ, low-dimensional codes."""

from __future__ import annotations

from functools import partial

import pytest
import torch
import torch.nn.functional as F

from vqlab.errors import ConfigValueError
from vqlab.quantizers import CosineQuantizer, ProjectedQuantizer, SimVQQuantizer, STEQuantizer


def test_rotation_estimator_gradient_equals_the_formula_and_differs_from_ste() -> None:
    # one code (0, 1) and z_e = (3, 0): the rotation trick hands z_e the upstream gradient turned
    # a quarter back and scaled by |e| / |z_e| = 1/3 (Fifty et al. 2024, Sec. 4.2)
    grads = {}
    for estimator in ("ste", "rotation"):
        quantizer = STEQuantizer(codebook_size=1, dim=2, beta=0.0, estimator=estimator)
        quantizer.codebook.data = torch.tensor([[0.0, 1.0]])
        z = torch.tensor([[3.0, 0.0]], requires_grad=True)
        out = quantizer(z)
        torch.testing.assert_close(out.quantized, torch.tensor([[0.0, 1.0]]))
        out.quantized.backward(torch.tensor([[1.0, 2.0]]))
        grads[estimator] = z.grad
    torch.testing.assert_close(grads["ste"], torch.tensor([[1.0, 2.0]]))
    torch.testing.assert_close(grads["rotation"], torch.tensor([[2.0, -1.0]]) / 3)


def test_unknown_estimator_names_the_key() -> None:
    with pytest.raises(ConfigValueError) as error:
        STEQuantizer(8, 2, estimator="gumbel")
    assert error.value.argument == "estimator"


def test_cosine_codes_have_unit_norm_and_are_the_max_cosine_code() -> None:
    torch.manual_seed(0)
    quantizer = CosineQuantizer(codebook_size=32, dim=6)
    quantizer.codebook.data = torch.randn(32, 6) * torch.rand(32, 1) * 5  # unequal norms
    z = torch.randn(4, 50, 6) * 3
    out = quantizer(z)
    torch.testing.assert_close(out.quantized.norm(dim=-1), torch.ones(4, 50))
    cosine = F.normalize(z, dim=-1) @ F.normalize(quantizer.codebook, dim=-1).t()
    assert torch.equal(out.indices, cosine.argmax(-1))
    # a plain Euclidean search would pick the long codes: the two must disagree somewhere
    assert not torch.equal(out.indices, torch.cdist(z, quantizer.codebook).argmin(-1))


def test_simvq_codebook_is_frozen_and_only_the_linear_map_gets_gradients() -> None:
    torch.manual_seed(0)
    quantizer = SimVQQuantizer(codebook_size=16, dim=4)
    basis = quantizer.basis.clone()
    assert [name for name, _ in quantizer.named_parameters()] == ["projection.weight"]
    optimizer = torch.optim.SGD(quantizer.parameters(), lr=0.5)
    before = quantizer.codebook.detach().clone()
    out = quantizer(torch.randn(8, 4) * 0.01 + 2.0)  # one tight cluster: few codes chosen
    (out.loss + out.quantized.square().mean()).backward()
    assert quantizer.projection.weight.grad.abs().sum() > 0
    optimizer.step()
    assert torch.equal(quantizer.basis, basis)
    # every code moved, used or not: the map is shared
    moved = (quantizer.codebook.detach() - before).norm(dim=-1)
    assert (moved > 0).all()
    assert out.counts.eq(0).any()


def test_simvq_replace_codes_sets_the_effective_code() -> None:
    torch.manual_seed(0)
    quantizer = SimVQQuantizer(codebook_size=8, dim=3)
    quantizer.projection.weight.data = torch.randn(3, 3)
    new = torch.tensor([[1.0, -2.0, 0.5]])
    quantizer.replace_codes(torch.tensor([5]), new)
    torch.testing.assert_close(quantizer.codebook[5:6].detach(), new, atol=1e-5, rtol=1e-5)


def test_projected_codes_live_in_codebook_dim_and_come_back_in_dim() -> None:
    torch.manual_seed(0)
    quantizer = ProjectedQuantizer(
        dim=12, codebook_dim=3, quantizer=partial(STEQuantizer, codebook_size=8)
    )
    assert quantizer.quantizers[0].codebook.shape == (8, 3)
    z = torch.randn(5, 12, requires_grad=True)
    out = quantizer(z)
    assert out.quantized.shape == (5, 12)
    assert torch.equal(out.indices, quantizer.encode(z))
    torch.testing.assert_close(out.quantized, quantizer.decode(out.indices))
    out.quantized.sum().backward()
    assert z.grad.abs().sum() > 0 and quantizer.project_in.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("codebook_dim", [0, -2])
def test_non_positive_codebook_dim_names_the_key(codebook_dim: int) -> None:
    with pytest.raises(ConfigValueError) as error:
        ProjectedQuantizer(
            8, codebook_dim=codebook_dim, quantizer=partial(STEQuantizer, codebook_size=4)
        )
    assert error.value.argument == "codebook_dim"
