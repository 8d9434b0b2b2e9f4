"""Two gloo ranks with different data: k-means init and respawn leave identical codebooks."""

from __future__ import annotations

from pathlib import Path

import torch
from codebook_harness import TinyAutoencoder, stand_in_trainer
from ddp_group import WORLD_SIZE, DDPResults

from vqlab.callbacks import DeadCodeRespawn, KMeansInit, OnlineClusteredReinit
from vqlab.quantizers import EMAQuantizer, STEQuantizer


def rank_batches(rank: int, count: int) -> list[torch.Tensor]:
    """Different data on every rank: rank 1's is shifted and denser."""
    generator = torch.Generator().manual_seed(10 + rank)
    return [torch.randn(32 + 8 * rank, 6, generator=generator) + 2 * rank for _ in range(count)]


def worker(rank: int, directory: str) -> None:
    states = {}
    for quantizer_class in (EMAQuantizer, STEQuantizer):
        torch.manual_seed(rank)  # rank-dependent start: the callbacks must make them agree
        model = TinyAutoencoder(quantizer_class(codebook_size=16, dim=4))
        torch.manual_seed(0)
        model.encoder.reset_parameters()  # the same encoder, as DDP's broadcast would give
        trainer = stand_in_trainer(rank_batches(rank, 4), world_size=WORLD_SIZE, rank=rank)
        KMeansInit(num_batches=2, iterations=5, seed=rank).on_train_start(trainer, model)
        initialised = model.quantizer.codebook.detach().clone()
        respawn = DeadCodeRespawn(threshold=4, seed=rank)
        respawn.setup(None, model, "fit")
        model.train()
        with torch.no_grad():
            for x in rank_batches(rank, 2):
                model(x * 0.1)  # concentrated data: many dead codes
            replaced = respawn.respawn("quantizer", model.quantizer, trainer)
        name = quantizer_class.__name__
        states[name] = {
            key: value.detach().clone() for key, value in model.quantizer.state_dict().items()
        }
        states[name]["initialised"] = initialised
        states[name]["replaced"] = torch.tensor(replaced)
    states["OnlineClusteredReinit"] = online_reinit_state(rank)
    torch.save(states, Path(directory) / f"rank{rank}.pt")


def online_reinit_state(rank: int) -> dict[str, torch.Tensor]:
    """Three CVQ re-init steps from the same codebook (as DDP gives) on rank-dependent data."""
    torch.manual_seed(0)
    model = TinyAutoencoder(STEQuantizer(codebook_size=16, dim=4))
    start = model.quantizer.codebook.detach().clone()
    callback = OnlineClusteredReinit(decay=0.5, sharpness=0.1)
    callback.setup(None, model, "fit")
    model.train()
    moved = 0
    with torch.no_grad():
        for x in rank_batches(rank, 3):
            model(x)
            moved += callback.step("quantizer", model.quantizer, *callback.latest.pop("quantizer"))
    return {
        "codebook": model.quantizer.codebook.detach().clone(),
        "usage": callback.usage["quantizer"].clone(),
        "changed": torch.tensor(not torch.equal(start, model.quantizer.codebook.detach())),
        "moved": torch.tensor(moved),
    }


DDP_WORKERS = [worker]  # run in the suite's one process group (ddp_group.py)


def test_kmeans_init_and_respawn_give_identical_codebooks_on_every_rank(
    ddp_results: DDPResults,
) -> None:
    folder = ddp_results.folder(worker)
    ranks = [torch.load(folder / f"rank{rank}.pt") for rank in range(WORLD_SIZE)]
    for name in ("EMAQuantizer", "STEQuantizer"):
        assert ranks[0][name].keys() == ranks[1][name].keys()
        for key, value in ranks[0][name].items():
            assert torch.equal(value, ranks[1][name][key]), (name, key)
        assert int(ranks[0][name]["replaced"]) > 0  # a respawn happened
    cvq = [ranks[rank]["OnlineClusteredReinit"] for rank in range(WORLD_SIZE)]
    for key, value in cvq[0].items():
        assert torch.equal(value, cvq[1][key]), ("OnlineClusteredReinit", key)
    assert bool(cvq[0]["changed"]) and int(cvq[0]["moved"]) > 0
