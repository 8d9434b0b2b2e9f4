"""Two-process gloo DDP on CPU: every rank ends with the same codebook, counts summed over ranks;
``vqlab.distributed`` gathers every rank's objects in rank order."""

from __future__ import annotations

from pathlib import Path

import torch
from ddp_group import WORLD_SIZE, DDPResults

from vqlab.distributed import all_gather_objects
from vqlab.metrics import CodeUsage
from vqlab.quantizers import EMAQuantizer

STEPS = 3


def rank_batches(rank: int) -> list[torch.Tensor]:
    """Different data on every rank (and a different amount)."""
    generator = torch.Generator().manual_seed(100 + rank)
    return [torch.randn(40 + 10 * rank, 4, generator=generator) * 2 for _ in range(STEPS)]


def make_quantizer() -> EMAQuantizer:
    torch.manual_seed(0)  # same initial codebook on every rank, as DDP's broadcast would give
    return EMAQuantizer(codebook_size=16, dim=4, decay=0.9)


def worker(rank: int, directory: str) -> None:
    quantizer = make_quantizer()
    usage = CodeUsage(16)
    for z in rank_batches(rank):
        usage.update(quantizer(z).counts)
    state = {name: buffer.clone() for name, buffer in quantizer.named_buffers()}
    state["perplexity"] = usage.compute()["perplexity"]
    state["gathered"] = all_gather_objects(f"rank {rank}")
    torch.save(state, Path(directory) / f"rank{rank}.pt")


DDP_WORKERS = [worker]  # run in the suite's one process group (ddp_group.py)


def test_ema_codebooks_agree_and_counts_are_summed_over_ranks(ddp_results: DDPResults) -> None:
    folder = ddp_results.folder(worker)
    states = [torch.load(folder / f"rank{rank}.pt") for rank in range(WORLD_SIZE)]
    for name in ("codebook", "cluster_size", "embed_sum"):
        assert torch.equal(states[0][name], states[1][name]), name

    # one process fed the union of both ranks' batches is the reference
    reference = make_quantizer()
    usage = CodeUsage(16)
    for step_batches in zip(*(rank_batches(rank) for rank in range(WORLD_SIZE)), strict=True):
        usage.update(reference(torch.cat(step_batches)).counts)
    torch.testing.assert_close(states[0]["cluster_size"], reference.cluster_size)
    torch.testing.assert_close(states[0]["codebook"], reference.codebook)
    torch.testing.assert_close(states[0]["perplexity"], usage.compute()["perplexity"])
    assert states[0]["gathered"] == states[1]["gathered"] == ["rank 0", "rank 1"]


def test_all_gather_objects_is_a_one_element_list_without_a_process_group() -> None:
    assert all_gather_objects({"a": 1}) == [{"a": 1}]
