"""Rebuilt Vietoris-Rips diagrams against giotto-ph, scipy's MST and finite differences."""

from __future__ import annotations

import math

import gph
import numpy as np
import pytest
import torch
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial.distance import pdist, squareform

from vqlab.topology import HomologyLoss, Pairing, vietoris_rips_diagrams
from vqlab.topology.pairing import edge_lengths


def _giotto_diagrams(points: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """giotto-ph's own finite H0 and H1 diagrams of ``points``."""
    distances = squareform(pdist(points.double().numpy())).astype(np.float32)
    dgms = gph.ripser_parallel(distances, metric="precomputed", maxdim=1)["dgms"]
    return tuple(dgm[np.isfinite(dgm[:, 1])] for dgm in dgms[:2])


def _sorted_rows(diagram: np.ndarray) -> np.ndarray:
    return diagram[np.lexsort((diagram[:, 0], diagram[:, 1]))]


def _noisy_circle(n: int, noise: float, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    angles = torch.rand(n, generator=generator) * 2 * math.pi
    circle = torch.stack([angles.cos(), angles.sin()], dim=-1)
    return circle + noise * torch.randn(n, 2, generator=generator)


def _with_duplicates(seed: int) -> torch.Tensor:
    points = torch.randn(20, 4, generator=torch.Generator().manual_seed(seed))
    return torch.cat([points, points[:5], points[:2]])  # 7 duplicated rows, one row thrice


CLOUDS = {
    "gaussian_3d": lambda: torch.randn(40, 3, generator=torch.Generator().manual_seed(0)),
    "uniform_64d_small_scale": lambda: (
        (torch.rand(64, 64, generator=torch.Generator().manual_seed(1)) * 2 - 1) / 64
    ),
    "noisy_circle": lambda: _noisy_circle(60, 0.05, seed=2),
    "duplicates": lambda: _with_duplicates(seed=3),
}


@pytest.mark.parametrize("name", sorted(CLOUDS))
def test_rebuilt_diagrams_equal_giotto_ph(name: str) -> None:
    points = CLOUDS[name]()
    h0, h1 = vietoris_rips_diagrams(points)
    expected_h0, expected_h1 = _giotto_diagrams(points)
    assert h0.shape == expected_h0.shape and h1.shape == expected_h1.shape
    ours_h0, ours_h1 = _sorted_rows(h0.numpy()), _sorted_rows(h1.numpy())
    np.testing.assert_allclose(ours_h0, _sorted_rows(expected_h0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours_h1, _sorted_rows(expected_h1), rtol=1e-5, atol=1e-7)


def test_noisy_circle_has_exactly_one_prominent_h1_bar() -> None:
    _, h1 = vietoris_rips_diagrams(_noisy_circle(60, 0.05, seed=2))
    persistence = h1[:, 1] - h1[:, 0]
    assert int((persistence > 0.5).sum()) == 1
    assert float(persistence.max()) > 1.0


def test_duplicates_drop_zero_bars_and_give_finite_gradients() -> None:
    points = _with_duplicates(seed=3).requires_grad_(True)
    h0, h1 = vietoris_rips_diagrams(points)
    assert h0.shape[0] == 19  # 20 distinct points: 19 finite H0 bars, not 26
    assert torch.isfinite(h0).all() and torch.isfinite(h1).all()
    HomologyLoss(ell=0.1).forward(h0, h1).backward()
    assert torch.isfinite(points.grad).all()
    assert points.grad.abs().sum() > 0


def test_edge_length_gradient_at_coincident_points_is_zero_not_nan() -> None:
    points = torch.tensor([[1.0, 2.0], [1.0, 2.0], [4.0, 6.0]], requires_grad=True)
    lengths = edge_lengths(points, torch.tensor([[0, 1], [0, 2]]))
    lengths.sum().backward()
    torch.testing.assert_close(lengths.detach(), torch.tensor([0.0, 5.0]))
    torch.testing.assert_close(points.grad, torch.tensor([[-0.6, -0.8], [0.0, 0.0], [0.6, 0.8]]))


def test_h0_deaths_are_minimum_spanning_tree_edge_lengths() -> None:
    points = torch.randn(50, 5, generator=torch.Generator().manual_seed(4))
    h0, _ = vietoris_rips_diagrams(points)
    tree = minimum_spanning_tree(squareform(pdist(points.double().numpy())))
    np.testing.assert_allclose(np.sort(h0[:, 1].numpy()), np.sort(tree.data), rtol=1e-5)
    assert (h0[:, 0] == 0).all()


def test_two_points_give_one_h0_bar_and_no_h1() -> None:
    h0, h1 = vietoris_rips_diagrams(torch.tensor([[0.0, 0.0], [3.0, 4.0]]))
    torch.testing.assert_close(h0, torch.tensor([[0.0, 5.0]]))
    assert h1.shape == (0, 2)


def test_homology_loss_gradient_matches_finite_differences() -> None:
    generator = torch.Generator().manual_seed(5)
    angles = torch.arange(10, dtype=torch.float64) * (2 * math.pi / 10)
    circle = torch.stack([angles.cos(), angles.sin(), torch.zeros_like(angles)], dim=-1)
    noise = 0.05 * torch.randn(10, 3, generator=generator, dtype=torch.float64)
    points = (circle + noise).requires_grad_(True)  # generic: no distance ties
    _, h1 = vietoris_rips_diagrams(points)
    assert h1.shape[0] >= 1  # the H1 term is exercised, not only eps0
    loss = HomologyLoss(b1_target=3.0, eps0_target=0.2, lambda_eps=7.0, ell=0.3)
    assert torch.autograd.gradcheck(lambda x: loss(*vietoris_rips_diagrams(x)), (points,))


def test_pairing_state_dict_round_trips() -> None:
    points = _noisy_circle(30, 0.05, seed=6)
    pairing = Pairing.compute(points)
    restored = Pairing.from_state_dict(pairing.state_dict("x."), "x.")
    for rebuilt, original in zip(restored.diagrams(points), pairing.diagrams(points), strict=True):
        torch.testing.assert_close(rebuilt, original, rtol=0, atol=0)
