"""Optimizer state surgery for parameters whose rows are overwritten outside the optimizer."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn
from torch.optim import Optimizer


@torch.no_grad()
def reset_rows(optimizers: Iterable[Optimizer], parameter: nn.Parameter, rows: Tensor) -> None:
    """Zero the per-element optimizer state of ``parameter[rows]`` in every optimizer holding it.

    A code overwritten by k-means init, respawn or growth must start afresh: Adam's first and
    second moments (``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``), SGD's momentum buffer and any
    other state tensor shaped like the parameter are zeroed on those rows; scalar state (Adam's
    ``step``) and the other rows are untouched.
    """
    for optimizer in optimizers:
        state = optimizer.state.get(parameter)
        if not state:
            continue
        for value in state.values():
            if isinstance(value, Tensor) and value.shape == parameter.shape:
                value.index_fill_(0, rows.to(value.device), 0.0)
