"""Soft Betti count, eps0, persistent entropy, the HC-VQ loss formula and the diagram figure."""

from __future__ import annotations

import io
import math

import pytest
import torch
from matplotlib.figure import Figure

from vqlab.topology import (
    HomologyLoss,
    mean_h0_death,
    persistence_diagram_figure,
    persistent_entropy,
    soft_betti1,
    vietoris_rips_diagrams,
)


def _random_diagrams() -> tuple[torch.Tensor, torch.Tensor]:
    return vietoris_rips_diagrams(torch.randn(60, 3, generator=torch.Generator().manual_seed(0)))


def test_soft_betti1_tends_to_the_exact_h1_bar_count_as_ell_goes_to_zero() -> None:
    _, h1 = _random_diagrams()
    assert h1.shape[0] >= 3
    errors = [abs(float(soft_betti1(h1, ell)) - h1.shape[0]) for ell in (1e-1, 1e-3, 1e-6)]
    assert errors[0] > 0.5
    assert errors[0] > errors[1] >= errors[2]
    assert errors[2] < 1e-6


def test_soft_betti1_counts_by_formula() -> None:
    h1 = torch.tensor([[0.1, 0.3], [0.5, 0.5], [1.0, 1.1]])
    ell = 0.1
    expected = sum(1 - math.exp(-0.5 * (p / ell) ** 2) for p in (0.2, 0.0, 0.1))
    assert float(soft_betti1(h1, ell)) == pytest.approx(expected, rel=1e-6)


def test_eps0_is_the_mean_finite_death_and_zero_without_bars() -> None:
    h0 = torch.tensor([[0.0, 1.0], [0.0, 2.0], [0.0, 6.0]])
    assert float(mean_h0_death(h0)) == pytest.approx(3.0)
    assert float(mean_h0_death(torch.empty(0, 2))) == 0.0


@pytest.mark.parametrize("n", [1, 2, 7, 100])
def test_persistent_entropy_of_n_equal_bars_is_log_n(n: int) -> None:
    assert float(persistent_entropy(torch.full((n,), 0.3))) == pytest.approx(math.log(n), abs=1e-6)


def test_persistent_entropy_by_formula_and_of_empty_or_zero_bars() -> None:
    expected = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert float(persistent_entropy(torch.tensor([1.0, 3.0]))) == pytest.approx(expected)
    assert float(persistent_entropy(torch.empty(0))) == 0.0
    assert float(persistent_entropy(torch.zeros(3))) == 0.0


def test_homology_loss_weights_each_term_as_documented() -> None:
    h0 = torch.tensor([[0.0, 0.2], [0.0, 0.4]])  # eps0 = 0.3
    h1 = torch.tensor([[0.1, 5.1], [0.2, 9.2]])  # b1 = 2 (persistences far above ell)
    loss = HomologyLoss(b1_target=5.0, eps0_target=0.5, lambda_eps=10.0, ell=1e-3)
    b1, eps0 = loss.signature(h0, h1)
    assert float(b1) == pytest.approx(2.0) and float(eps0) == pytest.approx(0.3)
    assert float(loss(h0, h1)) == pytest.approx((2 - 5) ** 2 + 10 * (0.3 - 0.5) ** 2, rel=1e-5)


def test_homology_loss_defaults_are_the_reference_constants() -> None:
    loss = HomologyLoss()
    assert (loss.b1_target, loss.eps0_target, loss.lambda_eps, loss.ell) == (100, 0.5, 1e4, 1e-3)


def test_persistence_diagram_figure_plots_both_dimensions_and_renders() -> None:
    h0, h1 = _random_diagrams()
    figure = persistence_diagram_figure(h0, h1, title="codebook")
    assert isinstance(figure, Figure)
    (axes,) = figure.axes
    assert [len(c.get_offsets()) for c in axes.collections] == [h0.shape[0], h1.shape[0]]
    figure.savefig(io.BytesIO(), format="png")
    empty = persistence_diagram_figure(torch.empty(0, 2), torch.empty(0, 2))
    empty.savefig(io.BytesIO(), format="png")
