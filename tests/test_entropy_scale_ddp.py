"""HC-VQ's entropy scale under 2-process gloo DDP: s comes from every rank's steps (the global
batch) and is the same on every rank."""

from __future__ import annotations

from pathlib import Path

import torch
from ddp_group import WORLD_SIZE, DDPResults

from vqlab.regularizers.entropy_scale import EntropyScale

PERIOD = 2


def batches(rank: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(x, z_q) per step, different on each rank (rank 1's inputs are far brighter)."""
    generator = torch.Generator().manual_seed(10 + rank)
    return [
        (
            torch.rand(4, 1, 8, 8, generator=generator) * (1 + 3 * rank) - 1,
            torch.randn(4, 4, 4, 3, generator=generator),
        )
        for _ in range(PERIOD)
    ]


def worker(rank: int, directory: str) -> None:
    scale = EntropyScale(period=PERIOD)
    for x, z_q in batches(rank):
        scale.update(x, z_q, torch.ones(3))
    torch.save(scale.scale, Path(directory) / f"rank{rank}.pt")


DDP_WORKERS = [worker]  # run in the suite's one process group (ddp_group.py)


def test_the_scale_is_the_global_batchs_and_the_same_on_every_rank(
    ddp_results: DDPResults,
) -> None:
    folder = ddp_results.folder(worker)
    got = [torch.load(folder / f"rank{rank}.pt") for rank in range(WORLD_SIZE)]
    probe = EntropyScale(period=PERIOD)
    pairs = [probe.entropies(x, z_q, torch.ones(3)) for r in range(2) for x, z_q in batches(r)]
    entropy_q = sum(float(q) for q, _ in pairs)
    entropy_x = sum(float(h) for _, h in pairs)
    expected = abs(1.0 - entropy_q / entropy_x)
    assert torch.equal(got[0], got[1])
    torch.testing.assert_close(float(got[0]), expected, rtol=1e-5, atol=0)
    alone = EntropyScale(period=PERIOD)  # rank 0's steps alone give another s (the old value)
    for x, z_q in batches(0):
        alone.update(x, z_q, torch.ones(3))
    assert abs(float(alone.scale) - expected) > 1e-3
