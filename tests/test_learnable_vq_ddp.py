"""Two-process gloo DDP: the learnable assignment stays identical on both ranks."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import torch
from ddp_group import WORLD_SIZE, DDPResults
from torch.nn.parallel import DistributedDataParallel

from vqlab.models import LearnableVQVAE
from vqlab.nets import CategoryEncoders, MLPDecoder
from vqlab.quantizers import EMAQuantizer, SoftAssignment

STEPS = 3
D, K = 10, 3


def make_model() -> LearnableVQVAE:
    torch.manual_seed(0)  # same initial weights on every rank, as Lightning's seeding gives
    return LearnableVQVAE(
        SoftAssignment(D, K, temperature=0.5),
        CategoryEncoders(K, D, hidden_features=[8], latent_dim=2),
        partial(EMAQuantizer, codebook_size=8, dim=2),
        MLPDecoder([D], hidden_features=[8], latent_dim=2, num_latents=K),
        partial(torch.optim.Adam, lr=1e-2),
        assignment_lr=1e-2,
    )


def worker(rank: int, directory: str) -> None:
    torch.manual_seed(100 + rank)  # different data and different Gumbel noise on every rank
    model = make_model()
    torch.manual_seed(100 + rank)
    wrapped = DistributedDataParallel(model)
    optimizer = model.configure_optimizers()["optimizer"]
    for _ in range(STEPS):
        x = torch.randn(16 + 4 * rank, D)
        x_hat, outputs, z_e = wrapped(x)
        optimizer.zero_grad()
        model.losses(x, x_hat, outputs, z_e)["loss"].backward()
        optimizer.step()
    torch.save(
        {"logits": model.assignment.logits.detach(), "codebook": model.quantizers[0].codebook},
        Path(directory) / f"rank{rank}.pt",
    )


DDP_WORKERS = [worker]  # run in the suite's one process group (ddp_group.py)


def test_assignment_logits_and_codebooks_agree_across_ranks_after_steps(
    ddp_results: DDPResults,
) -> None:
    folder = ddp_results.folder(worker)
    states = [torch.load(folder / f"rank{rank}.pt") for rank in range(WORLD_SIZE)]
    assert not torch.equal(states[0]["logits"], make_model().assignment.logits.detach())
    assert torch.equal(states[0]["logits"], states[1]["logits"])
    assert torch.equal(states[0]["codebook"], states[1]["codebook"])
