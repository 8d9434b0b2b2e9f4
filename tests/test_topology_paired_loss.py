"""The fused homology loss under a fixed pairing against the autograd composition it replaces."""

from __future__ import annotations

import pytest
import torch

from vqlab.topology import HomologyLoss, PairedHomologyLoss, Pairing, paired_homology_loss


def _cloud(n: int, d: int, dtype: torch.dtype, scale: float = 1.0) -> torch.Tensor:
    points = torch.randn(n, d, dtype=dtype, generator=torch.Generator().manual_seed(n))
    return (points * scale).requires_grad_(True)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_loss_and_gradient_equal_the_composition(dtype: torch.dtype) -> None:
    points = _cloud(128, 64, dtype, scale=1 / 128)  # the reference's init scale
    pairing, homology = Pairing.compute(points), HomologyLoss()
    expected = homology(*pairing.diagrams(points))
    (expected_grad,) = torch.autograd.grad(expected, points)
    paired = paired_homology_loss(homology, pairing, points)
    (grad,) = torch.autograd.grad(paired.loss, points)
    # equal up to float rounding (contiguous slices here, strided columns there: other kernels)
    torch.testing.assert_close(paired.loss, expected.detach(), rtol=1e-6, atol=0.0)
    # float32: the chain rule by hand multiplies in another order (large gradients, ell = 1e-3)
    scale = float(expected_grad.abs().max())
    torch.testing.assert_close(grad, expected_grad, rtol=1e-5, atol=1e-6 * scale)
    h0, h1 = pairing.diagrams(points)
    assert torch.equal(paired.h0, h0.detach()) and torch.equal(paired.h1, h1.detach())
    signature = torch.stack(homology.signature(h0, h1)).detach()
    torch.testing.assert_close(torch.stack([paired.b1, paired.eps0]), signature, rtol=1e-6, atol=0)


def test_gradient_passes_gradcheck() -> None:
    points = _cloud(20, 3, torch.float64)
    pairing = Pairing.compute(points)
    assert pairing.h1_birth.shape[0] > 0
    homology = HomologyLoss(b1_target=3.0, eps0_target=0.2, lambda_eps=10.0, ell=0.3)
    first, second = pairing.edge_ends(points.device)
    num_h0 = pairing.h0_death.shape[0]

    def loss(x: torch.Tensor) -> torch.Tensor:
        return PairedHomologyLoss.apply(x, first, second, num_h0, homology)[0]

    assert torch.autograd.gradcheck(loss, (points,))


def test_duplicate_points_and_no_bars_give_finite_values() -> None:
    points = torch.zeros(4, 2, requires_grad=True)  # every bar has zero length: none is kept
    paired = paired_homology_loss(HomologyLoss(), Pairing.compute(points), points)
    paired.loss.backward()
    assert paired.h0.shape == (0, 2) and paired.h1.shape == (0, 2)
    assert float(paired.eps0) == 0.0 and float(paired.b1) == 0.0
    assert torch.equal(points.grad, torch.zeros(4, 2))
