"""Grouped and residual codebooks and the batch-entropy regularizer, against brute force."""

from __future__ import annotations

import itertools
import math
from functools import partial

import pytest
import torch
from scipy.stats import entropy as scipy_entropy

from vqlab.errors import ConfigValueError
from vqlab.functional import rotation_trick
from vqlab.quantizers import (
    EMAQuantizer,
    EntropyRegularizedQuantizer,
    GroupedQuantizer,
    ResidualQuantizer,
    STEQuantizer,
)
from vqlab.quantizers.entropy_regularized import (
    BlockedSoftAssignment,
    soft_assignment_entropy_loss,
)


def test_grouped_indices_equal_per_group_brute_force() -> None:
    torch.manual_seed(0)
    quantizer = GroupedQuantizer(dim=12, num_groups=3, quantizer=partial(EMAQuantizer, 10))
    z = torch.randn(7, 5, 12)
    out = quantizer.eval()(z)  # eval: no EMA step, the codebooks stay those searched
    assert out.indices.shape == (7, 5, 3) and out.counts.shape == (30,)
    for group, child in enumerate(quantizer.quantizers):
        part = z[..., 4 * group : 4 * group + 4]
        expected = torch.cdist(part.reshape(-1, 4), child.codebook).argmin(-1).reshape(7, 5)
        assert torch.equal(out.indices[..., group], expected)
        torch.testing.assert_close(
            out.quantized[..., 4 * group : 4 * group + 4], child.codebook[expected]
        )
        assert out.counts[10 * group : 10 * group + 10].sum() == 35
    assert quantizer.codebook_sizes == (10, 10, 10)


def test_residual_reconstruction_error_falls_stage_by_stage() -> None:
    torch.manual_seed(0)
    quantizer = ResidualQuantizer(dim=4, num_stages=4, quantizer=partial(STEQuantizer, 32))
    z = torch.randn(500, 4)
    residual = z
    for stage in quantizer.quantizers:  # each codebook: samples of its own residuals
        stage.replace_codes(torch.arange(32), residual[torch.randperm(500)[:32]])
        residual = residual - stage.decode(stage.encode(residual))
    indices = quantizer.encode(z)
    errors = [float((z - quantizer.decode(indices[:, :n])).pow(2).mean()) for n in range(1, 5)]
    assert all(later < earlier for earlier, later in itertools.pairwise(errors)), errors
    out = quantizer(z)
    assert torch.equal(out.indices, indices)
    torch.testing.assert_close(out.quantized, quantizer.decode(indices))


def test_residual_gradient_to_the_input_is_the_upstream_gradient() -> None:
    quantizer = ResidualQuantizer(dim=3, num_stages=3, quantizer=partial(STEQuantizer, 8))
    z = torch.randn(6, 3, requires_grad=True)
    upstream = torch.randn(6, 3)
    quantizer(z).quantized.backward(upstream)
    torch.testing.assert_close(z.grad, upstream)


@pytest.mark.parametrize(
    ("make", "key"),
    [
        (
            lambda: GroupedQuantizer(10, num_groups=3, quantizer=partial(STEQuantizer, 4)),
            "num_groups",
        ),
        (
            lambda: GroupedQuantizer(10, num_groups=0, quantizer=partial(STEQuantizer, 4)),
            "num_groups",
        ),
        (
            lambda: ResidualQuantizer(10, num_stages=0, quantizer=partial(STEQuantizer, 4)),
            "num_stages",
        ),
        (lambda: EntropyRegularizedQuantizer(4, partial(STEQuantizer, 4), tau=0.0), "tau"),
    ],
)
def test_bad_composite_arguments_name_their_key(make, key: str) -> None:
    with pytest.raises(ConfigValueError) as error:
        make()
    assert error.value.argument == key


def test_kl_to_uniform_is_zero_for_a_uniform_soft_assignment_and_positive_otherwise() -> None:
    codebook = torch.zeros(8, 3)  # all codes equal: every soft assignment is uniform
    z = torch.randn(20, 3)
    zero = soft_assignment_entropy_loss(z, codebook, tau=1.0, target="kl_uniform")
    torch.testing.assert_close(zero, torch.tensor(0.0), atol=1e-6, rtol=0)

    torch.manual_seed(0)
    codebook = torch.randn(8, 3)
    z = torch.randn(20, 3) * 0.1 + codebook[2]  # a batch near one code
    kl = soft_assignment_entropy_loss(z, codebook, tau=0.5, target="kl_uniform")
    q = torch.softmax(-torch.cdist(z, codebook).pow(2) / 0.5, dim=-1).mean(0)
    expected = scipy_entropy(q.double().numpy(), [1 / 8] * 8)  # KL(q || U) by scipy
    assert kl > 0.5
    torch.testing.assert_close(kl.double(), torch.tensor(expected, dtype=torch.double))
    neg_entropy = soft_assignment_entropy_loss(z, codebook, tau=0.5, target="neg_entropy")
    torch.testing.assert_close(neg_entropy, kl - math.log(8))


def test_entropy_regularizer_adds_its_weighted_term_and_reports_it() -> None:
    torch.manual_seed(0)
    quantizer = EntropyRegularizedQuantizer(4, partial(STEQuantizer, 8), weight=0.3, tau=2.0)
    z = torch.randn(30, 4)
    out = quantizer(z)
    plain = quantizer.quantizers[0](z)
    term = 0.3 * soft_assignment_entropy_loss(
        z, plain_codebook := quantizer.quantizers[0].codebook, 2.0, "kl_uniform"
    )
    assert plain_codebook is quantizer.quantizers[0].codebook
    torch.testing.assert_close(out.loss, plain.loss + term)
    torch.testing.assert_close(out.terms["entropy_loss"], term.detach())


def test_blocked_soft_assignment_and_its_gradient_equal_the_dense_softmax() -> None:
    torch.manual_seed(0)
    z = torch.randn(300, 5, dtype=torch.float64, requires_grad=True)
    codebook = torch.randn(7, 5, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(7, dtype=torch.float64)
    blocked = BlockedSoftAssignment.apply(z, codebook, 0.7, 7 * 40)  # 8 blocks
    dense = torch.softmax(-torch.cdist(z, codebook).pow(2) / 0.7, dim=-1).sum(0)
    torch.testing.assert_close(blocked, dense)
    for got, expected in zip(
        torch.autograd.grad(blocked, (z, codebook), upstream),
        torch.autograd.grad(dense, (z, codebook), upstream),
        strict=True,
    ):
        torch.testing.assert_close(got, expected)


def test_residual_uses_its_stages_rotation_estimator_on_the_sum() -> None:
    torch.manual_seed(0)
    rotation = ResidualQuantizer(
        4, num_stages=2, quantizer=partial(STEQuantizer, 8, estimator="rotation")
    )
    ste = ResidualQuantizer(4, num_stages=2, quantizer=partial(STEQuantizer, 8))
    ste.load_state_dict(rotation.state_dict())
    z = torch.randn(20, 4, requires_grad=True)
    upstream = torch.randn(20, 4)
    out = rotation(z)
    (grad,) = torch.autograd.grad(out.quantized, z, upstream)
    # the rotation trick of z onto the stages' sum, computed independently of the quantizer
    z_q = rotation.decode(out.indices).detach()
    leaf = z.detach().requires_grad_()
    (expected,) = torch.autograd.grad(rotation_trick(leaf, z_q), leaf, upstream)
    torch.testing.assert_close(out.quantized, z_q)
    torch.testing.assert_close(grad, expected)
    (ste_grad,) = torch.autograd.grad(ste(z).quantized, z, upstream)
    torch.testing.assert_close(ste_grad, upstream)
    assert not torch.allclose(grad, upstream, atol=1e-3)


@pytest.mark.parametrize(
    ("make", "child"),
    [
        (lambda child: ResidualQuantizer(4, num_stages=2, quantizer=child), "stage"),
        (lambda child: GroupedQuantizer(4, num_groups=2, quantizer=child), "group"),
    ],
)
def test_composites_pass_on_their_childrens_named_terms(make, child: str) -> None:
    torch.manual_seed(0)
    regularized = partial(EntropyRegularizedQuantizer, quantizer=partial(STEQuantizer, 8))
    quantizer = make(regularized)
    z = torch.randn(30, 4)
    out = quantizer(z)
    assert set(out.terms) == {f"{child}_0/entropy_loss", f"{child}_1/entropy_loss"}
    inputs = children_inputs(quantizer, z)
    children = [q(part) for q, part in zip(quantizer.quantizers, inputs, strict=True)]
    for index, expected in enumerate(children):
        value = out.terms[f"{child}_{index}/entropy_loss"]
        torch.testing.assert_close(value, expected.terms["entropy_loss"])


def children_inputs(quantizer, z: torch.Tensor) -> list[torch.Tensor]:
    """What each child of a grouped or residual quantizer sees for input ``z``."""
    if isinstance(quantizer, GroupedQuantizer):
        return list(quantizer.split(z))
    first = quantizer.quantizers[0](z).quantized.detach()
    return [z, z - first]
