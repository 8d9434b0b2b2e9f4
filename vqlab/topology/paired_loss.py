"""The HC-VQ homology loss of a point cloud under a fixed pairing, as one autograd node.

For a :class:`vqlab.topology.Pairing` of ``points`` (n, d), every bar end is the length of one edge
(:meth:`Pairing.edge_ends`): ``l_e = ||x_a - x_b||``. With H0 deaths ``l_i`` (i < n0) and H1 bars
``(l_b(j), l_d(j))`` (j < n1), the signature and loss of :mod:`vqlab.topology.signature` are

    p_j  = l_d(j) - l_b(j),   r_j = p_j / ell,   E_j = exp(-0.5 r_j^2)
    b1   = sum_j (1 - E_j),   eps0 = (1 / n0) sum_i l_i   (0 if n0 = 0)
    L    = (b1 - b1_t)^2 + lambda_eps (eps0 - eps0_t)^2

and the gradient, chained by hand (``g_e = dL/dl_e``, then :mod:`vqlab.topology.edges`' rule):

    dL/db1 = 2 (b1 - b1_t),   dL/deps0 = 2 lambda_eps (eps0 - eps0_t)
    g_i    = dL/deps0 / n0                         (H0 death edge i; H0 births are 0, no edge)
    g_d(j) = dL/db1 E_j r_j / ell,  g_b(j) = -g_d(j)
    dL/dx_v = sum_{e: a_e = v} g_e u_e - sum_{e: b_e = v} g_e u_e,   u_e = (x_a - x_b) / l_e

(``u_e := 0`` on a zero-length edge). Autograd through ``EdgeLengths``, :func:`soft_betti1`,
:func:`mean_h0_death` and the two squared errors gives the same values with ~25 nodes, each paying
PyTorch's per-op overhead; this is one node. Training always runs the backward, so when the points
need a gradient the forward computes all of ``dL/dx`` (in-place ops, few allocations) and the
backward is one scaling by the output's gradient; the non-differentiable outputs get no zero
gradients materialised.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx, once_differentiable

from vqlab.topology.pairing import Pairing
from vqlab.topology.signature import HomologyLoss


@dataclass
class PairedLoss:
    """The loss (differentiable w.r.t. the points) and the detached quantities behind it.

    The diagrams ``h0`` / ``h1`` are views of ``lengths`` built on first access (a step that does
    not read them does not pay for them).
    """

    loss: Tensor  # scalar
    lengths: Tensor  # (n0 + 2 n1,) bar ends in Pairing.edge_ends order, detached
    pairing: Pairing
    b1: Tensor  # soft Betti-1 count, detached
    eps0: Tensor  # mean H0 death, detached

    @property
    def h0(self) -> Tensor:
        """(n0, 2) H0 diagram, rows (birth, death), detached."""
        return self.pairing.split_lengths(self.lengths)[0]

    @property
    def h1(self) -> Tensor:
        """(n1, 2) H1 diagram, rows (birth, death), detached."""
        return self.pairing.split_lengths(self.lengths)[1]


class PairedHomologyLoss(torch.autograd.Function):
    """``apply(points, first, second, num_h0, homology) -> (loss, lengths, b1, eps0)``.

    ``first``, ``second``: (n0 + 2 n1,) endpoints of :meth:`Pairing.edge_ends` (H0 deaths, H1
    births, H1 deaths); ``lengths`` (the bar ends), ``b1`` and ``eps0`` have no gradient.
    """

    @staticmethod
    def forward(
        ctx: FunctionCtx,
        points: Tensor,
        first: Tensor,
        second: Tensor,
        num_h0: int,
        homology: HomologyLoss,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        difference = points.index_select(0, first) - points.index_select(0, second)  # (m, d)
        lengths = (difference * difference).sum(-1).sqrt_()  # x * x: pow(x, 2)'s bits, faster
        num_h1 = (lengths.shape[0] - num_h0) // 2
        h0_death, h1_birth, h1_death = lengths.split([num_h0, num_h1, num_h1])
        ratio = (h1_death - h1_birth).div_(homology.ell)
        decay = (ratio * ratio).mul_(-0.5).exp_()
        b1 = num_h1 - decay.sum()  # sum_j (1 - E_j)
        eps0 = h0_death.mean() if num_h0 > 0 else points.new_zeros(())
        b1_error, eps0_error = b1 - homology.b1_target, eps0 - homology.eps0_target
        loss = torch.addcmul(b1_error * b1_error, eps0_error, eps0_error, value=homology.lambda_eps)
        ctx.set_materialize_grads(False)
        ctx.mark_non_differentiable(lengths, b1, eps0)
        if ctx.needs_input_grad[0]:
            # dL/dl_e (see the module docstring), then dL/dx; the backward only scales it
            death_grad = decay.mul_(ratio).mul_(b1_error * (2 / homology.ell))
            eps0_grad = eps0_error * (2 * homology.lambda_eps / max(num_h0, 1))
            edge_grad = torch.cat([eps0_grad.expand(num_h0), -death_grad, death_grad])
            # g / 0 is inf or NaN on a zero-length edge; ``where`` selects 0 there instead.
            weight = torch.where(lengths > 0, edge_grad.div_(lengths), 0.0)
            scaled = difference.mul_(weight.unsqueeze(-1))  # (m, d): g_e u_e
            grad_points = difference.new_zeros(points.shape)
            # index_add_ with alpha=-1 takes a slower path than negating the source in place
            grad_points.index_add_(0, first, scaled).index_add_(0, second, scaled.neg_())
            ctx.save_for_backward(grad_points)
        return loss, lengths, b1, eps0

    @staticmethod
    @once_differentiable
    def backward(
        ctx: FunctionCtx, grad: Tensor | None, *unused: Tensor
    ) -> tuple[Tensor | None, ...]:
        if grad is None:  # only the non-differentiable outputs were used
            return None, None, None, None, None
        (grad_points,) = ctx.saved_tensors
        return grad_points * grad, None, None, None, None


def paired_homology_loss(homology: HomologyLoss, pairing: Pairing, points: Tensor) -> PairedLoss:
    """``homology``'s loss of ``points`` (n, d) under ``pairing``, in one autograd node.

    The same values as ``homology(*pairing.diagrams(points))`` (to float rounding; the same
    dtype rules: half precision is upcast to float32).
    """
    if points.dtype != torch.float64:
        points = points.float()
    first, second = pairing.edge_ends(points.device)
    num_h0 = pairing.h0_death.shape[0]
    loss, lengths, b1, eps0 = PairedHomologyLoss.apply(points, first, second, num_h0, homology)
    return PairedLoss(loss, lengths, pairing, b1, eps0)
