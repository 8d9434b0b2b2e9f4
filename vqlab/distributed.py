"""The few collective operations that keep codebook surgery identical on every DDP rank.

Each is the identity when ``torch.distributed`` is not initialised (one process), so callers have
no branch on the world size.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor


def is_distributed() -> bool:
    """True inside an initialised process group."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's rank (0 without a process group)."""
    return dist.get_rank() if is_distributed() else 0


def all_reduce_sum(tensor: Tensor) -> Tensor:
    """Sum of ``tensor`` over ranks, in place, returned."""
    if is_distributed():
        dist.all_reduce(tensor)
    return tensor


def all_gather_rows(tensor: Tensor) -> Tensor:
    """Rows of every rank's ``tensor`` (same shape on every rank), concatenated in rank order."""
    if not is_distributed():
        return tensor
    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts)


def all_gather_objects(value: Any) -> list[Any]:
    """Every rank's picklable ``value``, in rank order (``[value]`` without a process group)."""
    if not is_distributed():
        return [value]
    values: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(values, value)
    return values


def broadcast_from_rank_zero(tensor: Tensor) -> Tensor:
    """Rank 0's ``tensor`` on every rank (in place, same shape and dtype everywhere), returned."""
    if is_distributed():
        dist.broadcast(tensor, src=0)
    return tensor


def min_over_ranks(value: int, device: torch.device) -> int:
    """The smallest ``value`` over ranks (a host sync: use only outside the hot path)."""
    if not is_distributed():
        return value
    tensor = torch.tensor(value, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MIN)
    return int(tensor)


def summed_over_ranks(tensor: Tensor) -> Tensor:
    """A copy of ``tensor`` summed over ranks (a collective under DDP; ``tensor`` is unchanged).

    How a per-rank window (a code histogram) goes into a checkpoint: the saved value is the
    window of the whole run, whatever the number of ranks.
    """
    return all_reduce_sum(tensor.clone())


def rank_zero_share(saved: Tensor) -> Tensor:
    """This rank's part of a state saved ``summed_over_ranks``: all on rank 0, zeros elsewhere.

    Summing the restored parts over ranks gives the saved value back, so a run resumed under DDP
    reports what the uninterrupted run reports.
    """
    return saved if rank() == 0 else torch.zeros_like(saved)
