"""Edge lengths of a point cloud with a hand-written gradient (the hot path of the HC-VQ term).

For points ``x`` (n, d) and edges ``e = (a_e, b_e)``:

    l_e = ||x_a - x_b||_2,
    dL/dx_v = sum_{e: a_e = v} g_e u_e  -  sum_{e: b_e = v} g_e u_e,   u_e = (x_a - x_b) / l_e,

with ``g_e = dL/dl_e`` and ``u_e := 0`` on a zero-length edge (duplicate points, or a degenerate
edge (v, v)), so that its gradient is 0 instead of NaN. The backward is two ``index_add_`` of the
scaled differences saved by the forward, instead of autograd's chain of ~10 ops through advanced
indexing (measured ~2x faster forward + backward at n = 128, d = 64, 1 thread).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx, once_differentiable


class EdgeLengths(torch.autograd.Function):
    """``EdgeLengths.apply(points, first, second)``: (n, d), (m,), (m,) int64 -> (m,) lengths."""

    @staticmethod
    def forward(ctx: FunctionCtx, points: Tensor, first: Tensor, second: Tensor) -> Tensor:
        difference = points.index_select(0, first) - points.index_select(0, second)  # (m, d)
        lengths = (difference * difference).sum(-1).sqrt()  # x * x: pow(x, 2)'s bits, faster
        ctx.save_for_backward(difference, lengths, first, second)
        ctx.num_points = points.shape[0]
        return lengths

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad: Tensor) -> tuple[Tensor, None, None]:
        difference, lengths, first, second = ctx.saved_tensors
        # grad / 0 is inf or NaN on a zero-length edge; ``where`` selects 0 there instead.
        weight = torch.where(lengths > 0, grad / lengths, 0.0)
        scaled = difference * weight.unsqueeze(-1)  # (m, d): g_e u_e
        grad_points = difference.new_zeros(ctx.num_points, difference.shape[-1])
        # index_add_ with alpha=-1 takes a slower path than negating the source in place
        grad_points.index_add_(0, first, scaled).index_add_(0, second, scaled.neg_())
        return grad_points, None, None
