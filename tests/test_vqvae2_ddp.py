"""Two-process gloo DDP on CPU: both VQ-VAE-2 codebooks agree across ranks and equal one process
fed the union of the ranks' batches; each level's usage window is summed over ranks."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from ddp_group import WORLD_SIZE, DDPResults
from tiny_vqvae2 import seed_both_codebooks, tiny_vqvae2
from torch.nn.parallel import DistributedDataParallel

STEPS = 3
BATCH = 6  # per rank; equal sizes make the mean of the ranks' mean losses the union's mean


def rank_batches(rank: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(100 + rank)
    return [torch.randn(BATCH, 1, 8, 8, generator=generator) for _ in range(STEPS)]


def make_model():
    """The same initial model and codebooks on every rank, as DDP's broadcast would give."""
    torch.manual_seed(0)
    model = tiny_vqvae2(codes=(6, 10))
    seed_both_codebooks(model, torch.randn(4, 1, 8, 8))
    return model


def train_steps(model, forward, batches: list[torch.Tensor]) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    for x in batches:
        x_hat, quantized = forward(x)
        (F.mse_loss(x_hat, x) + quantized.loss).backward()
        optimizer.step()
        optimizer.zero_grad()
        model.usage.train_window.update(quantized.counts)


def worker(rank: int, directory: str) -> None:
    model = make_model().train()
    # no buffer broadcast: the EMA all-reduce alone must keep the codebooks equal
    train_steps(
        model, DistributedDataParallel(model, forward_sync_buffers=False), rank_batches(rank)
    )
    state = {name: buffer.clone() for name, buffer in model.named_buffers()}
    state["usage"] = model.usage.statistics("train")
    torch.save(state, Path(directory) / f"rank{rank}.pt")


DDP_WORKERS = [worker]  # run in the suite's one process group (ddp_group.py)


def test_both_levels_codebooks_agree_across_ranks_and_equal_the_union_batch(
    ddp_results: DDPResults,
) -> None:
    folder = ddp_results.folder(worker)
    states = [torch.load(folder / f"rank{rank}.pt") for rank in range(WORLD_SIZE)]
    for level in ("top", "bottom"):
        for buffer in ("codebook", "cluster_size", "embed_sum"):
            name = f"{level}_quantizer.{buffer}"
            assert torch.equal(states[0][name], states[1][name]), name

    reference = make_model().train()
    union = [
        torch.cat(batches) for batches in zip(*map(rank_batches, range(WORLD_SIZE)), strict=True)
    ]
    train_steps(reference, reference, union)
    for level in ("top", "bottom"):
        quantizer = getattr(reference, f"{level}_quantizer")
        initial = getattr(make_model(), f"{level}_quantizer")
        assert (
            quantizer.codebook - initial.codebook
        ).abs().max() > 1e-3  # moved 100x the tolerance
        for buffer in ("codebook", "cluster_size"):
            torch.testing.assert_close(
                states[0][f"{level}_quantizer.{buffer}"],
                getattr(quantizer, buffer),
                rtol=1e-4,
                atol=1e-5,
            )
    expected_usage = reference.usage.statistics("train")
    for name, value in expected_usage.items():
        for state in states:
            torch.testing.assert_close(state["usage"][name], value)
