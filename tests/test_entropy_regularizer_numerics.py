"""Entropy regularizer gradients: finite where a code share underflows, float32 under autocast."""

from __future__ import annotations

import torch

from vqlab.quantizers.entropy_regularized import mean_soft_assignment, soft_assignment_entropy_loss


def dense_kl_to_uniform(z: torch.Tensor, codebook: torch.Tensor, tau: float) -> torch.Tensor:
    """``log K - H(mean_n softmax(-||z_n - e_j||^2 / tau))`` in float64, written out densely."""
    q = torch.softmax(-torch.cdist(z, codebook).pow(2) / tau, dim=-1).mean(0)
    return torch.log(torch.tensor(float(codebook.shape[0]), dtype=q.dtype)) + (q * q.log()).sum()


def test_gradient_is_finite_and_right_when_a_code_share_underflows_to_zero() -> None:
    # d = 64, K = 512, latents and codes of std 2: some codes' float32 share of the batch is 0
    torch.manual_seed(0)
    z = (torch.randn(256, 64) * 2).requires_grad_()
    codebook = (torch.randn(512, 64) * 2).requires_grad_()
    q32 = torch.softmax(-torch.cdist(z, codebook).pow(2), dim=-1).mean(0)
    assert (q32 == 0).any()  # the case the regression is about
    loss = soft_assignment_entropy_loss(z, codebook, 1.0, "kl_uniform")
    grad_z, grad_codebook = torch.autograd.grad(loss, (z, codebook))
    assert torch.isfinite(grad_z).all() and torch.isfinite(grad_codebook).all()
    # float64 does not underflow here: its gradient is the reference
    z64 = z.detach().double().requires_grad_()
    codebook64 = codebook.detach().double().requires_grad_()
    reference = torch.autograd.grad(dense_kl_to_uniform(z64, codebook64, 1.0), (z64, codebook64))
    torch.testing.assert_close(loss.double(), dense_kl_to_uniform(z64, codebook64, 1.0).detach())
    torch.testing.assert_close(grad_z.double(), reference[0], atol=1e-6, rtol=1e-3)
    torch.testing.assert_close(grad_codebook.double(), reference[1], atol=1e-6, rtol=1e-3)


def test_gradient_under_bf16_autocast_equals_the_float32_gradient() -> None:
    torch.manual_seed(0)
    z = (torch.randn(64, 8) + 3).requires_grad_()  # a mean offset of 3: bf16 scores lose digits
    codebook = (torch.randn(16, 8) + 3).requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss16 = soft_assignment_entropy_loss(z, codebook, 1.0, "kl_uniform")
    assert loss16.dtype == torch.float32
    grads16 = torch.autograd.grad(loss16, (z, codebook))
    loss32 = soft_assignment_entropy_loss(z, codebook, 1.0, "kl_uniform")
    grads32 = torch.autograd.grad(loss32, (z, codebook))
    torch.testing.assert_close(loss16, loss32, rtol=0, atol=0)
    for got, expected in zip(grads16, grads32, strict=True):
        torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_sampled_soft_assignment_is_an_unbiased_estimate_of_the_batch_mean() -> None:
    generator = torch.Generator().manual_seed(0)
    z_e = torch.randn(2048, 8, generator=generator)
    codebook = torch.randn(16, 8, generator=generator)
    full = mean_soft_assignment(z_e, codebook, tau=1.0)
    torch.manual_seed(1)
    draws = torch.stack(
        [mean_soft_assignment(z_e, codebook, 1.0, sample_rows=64) for _ in range(400)]
    )
    standard_error = draws.std(0) / len(draws) ** 0.5
    assert (draws.std(0) > 0).all()  # the draws do differ
    assert ((draws.mean(0) - full).abs() <= 4 * standard_error + 1e-7).all()
    # no sampling when the batch is no larger than sample_rows
    torch.testing.assert_close(
        mean_soft_assignment(z_e[:64], codebook, 1.0, 64),
        mean_soft_assignment(z_e[:64], codebook, 1.0),
    )
