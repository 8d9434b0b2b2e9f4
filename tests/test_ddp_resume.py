"""Two-process gloo DDP on CPU: checkpoints hold every rank's RNG state and the rank-summed usage
window, and a resumed run (each rank loading the same checkpoint) reports what an uninterrupted
one does."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import torch
import torch.distributed as dist
from ddp_group import WORLD_SIZE, DDPResults
from torch import nn

from vqlab.models import VQVAE
from vqlab.quantizers import EMAQuantizer

CODES = 8


def tiny_vqvae() -> VQVAE:
    return VQVAE(nn.Identity(), EMAQuantizer(CODES, 2), nn.Identity(), partial(torch.optim.SGD))


def worker(rank: int, directory: str) -> None:
    torch.manual_seed(100 + rank)
    model = tiny_vqvae()
    # rank 0 used codes 0 and 1, rank 1 codes 2 and 3: half the codebook over both ranks
    model.usage.train_window.update(torch.eye(CODES)[2 * rank : 2 * rank + 2].sum(0))
    uninterrupted = model.usage.statistics("train")["usage"]
    rng_state = torch.get_rng_state()
    checkpoint = {"state_dict": model.state_dict()}
    model.on_save_checkpoint(checkpoint)
    torch.save(checkpoint, Path(directory) / f"rank{rank}.ckpt")
    dist.barrier()

    resumed = tiny_vqvae()
    loaded = torch.load(Path(directory) / "rank0.ckpt", weights_only=True)  # rank 0 writes it
    resumed.on_load_checkpoint(loaded)
    resumed.load_state_dict(loaded["state_dict"])
    result = {
        "uninterrupted": uninterrupted,
        "resumed": resumed.usage.statistics("train")["usage"],
        "rng": rng_state,
        "saved_rng": loaded["rng_states"],
    }
    torch.save(result, Path(directory) / f"result{rank}.pt")


DDP_WORKERS = [worker]  # run in the suite's one process group (ddp_group.py)


def test_ddp_checkpoint_holds_summed_usage_loaded_once_and_every_ranks_rng(ddp_results: DDPResults):
    folder = ddp_results.folder(worker)
    results = [torch.load(folder / f"result{rank}.pt") for rank in range(WORLD_SIZE)]
    for result in results:
        assert result["uninterrupted"].item() == 0.5
        assert result["resumed"].item() == 0.5  # was 0.25: rank 0's histogram loaded on each rank
    saved = results[0]["saved_rng"]
    assert len(saved) == WORLD_SIZE
    for rank, result in enumerate(results):
        assert torch.equal(saved[rank]["torch"], result["rng"])
    assert not torch.equal(saved[0]["torch"], saved[1]["torch"])
