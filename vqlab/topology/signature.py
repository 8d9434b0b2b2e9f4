"""Homology signature of a persistence diagram and the HC-VQ homology loss.

Volkov, "Homology-constrained vector quantization entropy regularizer", 2022, arXiv:2211.14363
(HC-VQ; its formulas were lost in extraction, so they follow the paper's reference code, as
written down in docs/hcvq.md, sections 2 and 4).
Signature ``S = (b1, eps0)``:

    b1   = sum_i (1 - exp(-0.5 (p_i / ell)^2)),  p_i = death_i - birth_i over the H1 bars
    eps0 = mean of the finite H0 deaths (0 if there are none)

Loss: ``MSE(b1, b1_target) + lambda_eps * MSE(eps0, eps0_target)``; with scalars, each MSE is a
squared difference. The reference multiplies it by its entropy scale ``s``; that lives in the model.

Trap (docs/hcvq.md, section 2): ``b1`` is a soft count of H1 bars longer than about ``ell``. At
the reference's init scale (codes ~ U(-1/K, 1/K)) the median H1 persistence is about 1e-3 = ell,
so ``b1`` is far from the true Betti-1 count and its gradient is about 300x the eps0 term's: choose
``ell`` relative to the scale of the codebook.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vqlab.functional import entropy


def soft_betti1(h1: Tensor, ell: float = 1e-3) -> Tensor:
    """Differentiable H1 bar count ``sum_i (1 - exp(-0.5 (p_i / ell)^2))``; h1: (m, 2) -> scalar.

    Tends to the number of bars with positive persistence as ``ell -> 0``.
    """
    ratio = (h1[:, 1] - h1[:, 0]) / ell
    # r * r rather than r.pow(2): the same bits (and gradient), fewer ops in autograd
    return (1 - torch.exp(-0.5 * (ratio * ratio))).sum()


def mean_h0_death(h0: Tensor) -> Tensor:
    """``eps0``: mean of the finite H0 deaths, the mean merge distance; 0 if there are none.

    Normalised by the number of bars giotto-ph returns (zero-length bars of duplicate points are
    dropped), never by n - 1. h0: (m, 2) -> scalar.
    """
    if h0.shape[0] == 0:
        return h0.new_zeros(())
    return h0[:, 1].mean()


def persistent_entropy(lengths: Tensor) -> Tensor:
    """``E = -sum_i p_i log p_i`` with ``p_i = l_i / sum_j l_j``; 0 for no or zero-length bars.

    Atienza et al., "Persistent Entropy for Separating Topological Features from Noise in
    Vietoris-Rips Complexes", 2017, arXiv:1701.07857. lengths: (m,) bar lengths (death - birth).
    """
    total = lengths.sum()
    return entropy(lengths / total.clamp_min(torch.finfo(lengths.dtype).tiny))


class HomologyLoss(nn.Module):
    """HC-VQ homology loss ``(b1 - b1_target)^2 + lambda_eps * (eps0 - eps0_target)^2``.

    Defaults are the reference's constants (b1 target 100, eps0 target 0.5, weight 1e4, ell 1e-3).
    """

    def __init__(
        self,
        b1_target: float = 100.0,
        eps0_target: float = 0.5,
        lambda_eps: float = 1e4,
        ell: float = 1e-3,
    ) -> None:
        super().__init__()
        self.b1_target = b1_target
        self.eps0_target = eps0_target
        self.lambda_eps = lambda_eps
        self.ell = ell

    def signature(self, h0: Tensor, h1: Tensor) -> tuple[Tensor, Tensor]:
        """``(b1, eps0)`` of the diagrams ``h0`` and ``h1`` (each (m, 2) rows (birth, death))."""
        return soft_betti1(h1, self.ell), mean_h0_death(h0)

    def signature_loss(self, b1: Tensor, eps0: Tensor) -> Tensor:
        """The loss of a signature already computed (callers that also log ``b1`` and ``eps0``)."""
        b1_error, eps0_error = b1 - self.b1_target, eps0 - self.eps0_target
        return b1_error * b1_error + self.lambda_eps * (eps0_error * eps0_error)

    def forward(self, h0: Tensor, h1: Tensor) -> Tensor:
        """The loss, a scalar differentiable w.r.t. the diagrams."""
        return self.signature_loss(*self.signature(h0, h1))
