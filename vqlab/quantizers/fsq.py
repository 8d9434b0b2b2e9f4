"""Finite scalar quantization: each channel bounded and rounded to a few levels; no codebook.

Mentzer et al., "Finite Scalar Quantization: VQ-VAE Made Simple", 2023, arXiv:2309.15505, Sec. 3
(bound ``f(z) = floor(L/2) tanh(z)``, round with a straight-through gradient) and its App. A.1
reference code (the half-step offset that gives even ``L`` its ``L`` levels).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from vqlab.errors import ConfigValueError
from vqlab.functional import exact_straight_through
from vqlab.quantizers.scalar import ScalarQuantizer

# keeps the bound strictly inside (-L/2, L/2) so rounding never makes an (L+1)-th level
BOUND_EPS = 1e-3


class FSQQuantizer(ScalarQuantizer):
    """``z_q,i = round(bound_i(z_i)) / floor(L_i / 2)`` per channel ``i``, ``L_i`` = ``levels[i]``.

    ``bound(z) = h tanh(z + s) - o`` with ``h = (L - 1)(1 - eps) / 2``, ``o = 1/2`` for even ``L``
    (0 for odd) and ``s = atanh(o / h)``, so ``bound(0) = 0`` (``L = 2``: ``s = 0``, the range
    (-1, 0) cannot hold 0 inside; its decision boundary stays at ``z = 0``) and
    ``round(bound(z))`` takes the ``L`` integer values ``-floor(L/2) .. ceil(L/2) - 1``, monotone
    in ``z``; the code values are these integers over ``floor(L/2)`` (in [-1, 1]). Rounding has
    a straight-through gradient. index = ``sum_i digit_i prod_{j<i} L_j`` with
    ``digit_i = round(bound_i) + floor(L_i/2)`` in ``[0, L_i)``: the implied codebook has
    ``prod(levels)`` codes. No loss: nothing to collapse.

    Deviation: the shift is ``atanh(o / h)`` (the value that makes ``bound(0) = 0``); the paper's
    App. A.1 code writes ``tan``, which differs from it by < 1e-2 at these arguments for L >= 4
    (at L = 2 neither centres the range; see above).
    """

    def __init__(self, dim: int, *, levels: Sequence[int] = (8, 5, 5, 5)) -> None:
        levels = list(levels)
        if not levels or any(int(level) != level or level < 2 for level in levels):
            raise ConfigValueError("levels", "a non-empty list of integers >= 2", levels)
        super().__init__(dim, channels=len(levels), codebook_size=math.prod(levels))
        self.levels = tuple(int(level) for level in levels)
        levels_tensor = torch.tensor(self.levels)
        half = (levels_tensor - 1).double() * (1 - BOUND_EPS) / 2
        offset = (levels_tensor % 2 == 0).double() / 2
        basis = torch.cumprod(torch.tensor([1, *self.levels[:-1]]), 0)
        self.register_buffer("half_range", half.float(), persistent=False)
        self.register_buffer("offset", offset.float(), persistent=False)
        # L = 2: the range (-1, 0) has no interior point 0: no shift, the boundary stays at z = 0
        shift = torch.where(offset < half, torch.atanh(offset / half), 0.0)
        self.register_buffer("shift", shift.float(), persistent=False)
        self.register_buffer("half_width", (levels_tensor // 2).float(), persistent=False)
        self.register_buffer("levels_tensor", levels_tensor, persistent=False)
        self.register_buffer("basis", basis, persistent=False)

    def bound(self, z: Tensor) -> Tensor:
        """``h tanh(z + s) - o`` per channel (class docstring). (..., channels)."""
        return torch.tanh(z + self.shift) * self.half_range - self.offset

    def quantize(self, z: Tensor) -> Tensor:
        bounded = self.bound(z)
        return exact_straight_through(bounded, bounded.round()) / self.half_width

    def indices_of(self, codes: Tensor) -> Tensor:
        digits = (codes * self.half_width + self.half_width).round().long()  # (..., c) in [0, L)
        return (digits * self.basis).sum(-1)

    def codes_of(self, indices: Tensor) -> Tensor:
        digits = indices.unsqueeze(-1) // self.basis % self.levels_tensor  # (..., c)
        return (digits - self.half_width) / self.half_width

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, levels={list(self.levels)}"
