"""EdgeLengths' hand-written gradient; diagrams from it against the full distance matrix."""

from __future__ import annotations

import pytest
import torch

from vqlab.topology import HomologyLoss, Pairing, vietoris_rips_diagrams
from vqlab.topology.edges import EdgeLengths


def _reference_diagrams(
    points: torch.Tensor, pairing: Pairing
) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference's way: gather the bar ends from the full differentiable distance matrix."""
    distances = (points[:, None] - points[None]).norm(dim=-1)  # (n, n)
    h0_death = distances[pairing.h0_death[:, 0], pairing.h0_death[:, 1]]
    h1_birth = distances[pairing.h1_birth[:, 0], pairing.h1_birth[:, 1]]
    h1_death = distances[pairing.h1_death[:, 0], pairing.h1_death[:, 1]]
    h0 = torch.stack([torch.zeros_like(h0_death), h0_death], dim=-1)
    return h0, torch.stack([h1_birth, h1_death], dim=-1)


def test_edge_lengths_gradient_passes_gradcheck() -> None:
    generator = torch.Generator().manual_seed(0)
    points = torch.randn(12, 5, generator=generator, dtype=torch.float64, requires_grad=True)
    first = torch.randint(0, 12, (30,), generator=generator)
    second = (first + torch.randint(1, 12, (30,), generator=generator)) % 12  # no (v, v) edge
    assert torch.autograd.gradcheck(EdgeLengths.apply, (points, first, second))


def test_degenerate_edge_has_length_zero_and_no_gradient() -> None:
    points = torch.randn(4, 3, generator=torch.Generator().manual_seed(1), requires_grad=True)
    lengths = EdgeLengths.apply(points, torch.tensor([2, 0]), torch.tensor([2, 1]))
    assert lengths[0] == 0
    lengths[0].backward()
    assert torch.equal(points.grad, torch.zeros_like(points))


@pytest.mark.parametrize("size, scale", [(64, 1.0), (128, 1 / 128)])
def test_pairing_diagrams_and_loss_gradient_equal_the_full_distance_matrix_gather(
    size: int, scale: float
) -> None:
    generator = torch.Generator().manual_seed(size)
    points = scale * torch.randn(size, 16, generator=generator, dtype=torch.float64)
    points.requires_grad_(True)
    pairing = Pairing.compute(points)
    ours, reference = pairing.diagrams(points), _reference_diagrams(points, pairing)
    for got, expected in zip(ours, reference, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=0)
    for got, expected in zip(ours, vietoris_rips_diagrams(points), strict=True):
        torch.testing.assert_close(got, expected, rtol=0, atol=0)
    loss = HomologyLoss(ell=0.1 * scale, lambda_eps=3.0)
    (gradient,) = torch.autograd.grad(loss(*ours), points)
    (expected_gradient,) = torch.autograd.grad(loss(*reference), points)
    torch.testing.assert_close(gradient, expected_gradient, rtol=1e-9, atol=1e-12)
