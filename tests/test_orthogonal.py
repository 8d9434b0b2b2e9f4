"""The orthogonality regularizer against the dense K x K formula of Shin et al. (Eq. 2)."""

from __future__ import annotations

from functools import partial

import pytest
import torch

from vqlab.errors import ConfigCombinationError
from vqlab.quantizers import (
    EMAQuantizer,
    OrthogonalRegularizedQuantizer,
    SimVQQuantizer,
    STEQuantizer,
)
from vqlab.quantizers.orthogonal import orthogonality_loss


def dense_orthogonality(codebook: torch.Tensor) -> torch.Tensor:
    """``||C^ C^T - I||_F^2 / K^2`` with the (K, K) cosine matrix, float64."""
    normed = codebook.double() / codebook.double().norm(dim=-1, keepdim=True).clamp_min(1e-12)
    size = codebook.shape[0]
    return (normed @ normed.t() - torch.eye(size, dtype=torch.float64)).pow(2).sum() / size**2


@pytest.mark.parametrize("shape", [(5, 8), (40, 6)])  # K < d and K > d
def test_gram_form_and_its_gradient_equal_the_dense_formula(shape) -> None:
    torch.manual_seed(0)
    codebook = torch.randn(*shape, dtype=torch.float64)
    codebook[1] = 0.0  # a zero row: normalised to 0, the identity's 1 stays unmatched
    codebook.requires_grad_()
    got = orthogonality_loss(codebook)
    expected = dense_orthogonality(codebook)
    torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=1e-6)
    grad_got = torch.autograd.grad(got, codebook)[0]
    grad_expected = torch.autograd.grad(expected, codebook)[0]
    torch.testing.assert_close(grad_got.double(), grad_expected, rtol=1e-4, atol=1e-6)


def test_orthonormal_codes_cost_nothing() -> None:
    codebook = torch.linalg.qr(torch.randn(6, 6))[0] * 3.0  # orthogonal rows of norm 3
    torch.testing.assert_close(orthogonality_loss(codebook), torch.tensor(0.0), atol=1e-6, rtol=0)


def test_wrapper_adds_the_weighted_term_and_composes_with_a_gradient_codebook() -> None:
    torch.manual_seed(0)
    for child in (partial(STEQuantizer, 16), partial(SimVQQuantizer, 16)):
        quantizer = OrthogonalRegularizedQuantizer(4, quantizer=child, weight=3.0)
        z = torch.randn(20, 4)
        out = quantizer(z)
        plain = quantizer.quantizers[0](z)
        term = 3.0 * orthogonality_loss(quantizer.quantizers[0].codebook)
        torch.testing.assert_close(out.loss, plain.loss + term)
        torch.testing.assert_close(out.terms["orthogonal_loss"], term.detach())
        torch.testing.assert_close(quantizer.decode(quantizer.encode(z)), plain.quantized)


def test_an_ema_codebook_is_refused() -> None:
    with pytest.raises(ConfigCombinationError):
        OrthogonalRegularizedQuantizer(4, quantizer=partial(EMAQuantizer, 16))
