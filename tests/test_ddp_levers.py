"""Every lever's quantizer under two-process gloo DDP: both ranks end with the same state."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
from ddp_group import WORLD_SIZE, DDPResults
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from vqlab.quantizers import (
    AccumulatedEMAQuantizer,
    AffineQuantizer,
    BSQQuantizer,
    CosineQuantizer,
    DimensionCurriculumQuantizer,
    EMAQuantizer,
    EntropyRegularizedQuantizer,
    FSQQuantizer,
    GroupedQuantizer,
    GrowingQuantizer,
    LFQQuantizer,
    OrthogonalRegularizedQuantizer,
    ProjectedQuantizer,
    ResidualQuantizer,
    SimVQQuantizer,
    STEQuantizer,
)

STEPS = 4
DIM = 4
QUANTIZERS: dict[str, Callable[[], nn.Module]] = {
    "rotation": lambda: STEQuantizer(16, DIM, estimator="rotation"),
    "cosine": lambda: CosineQuantizer(16, DIM),
    "simvq": lambda: SimVQQuantizer(16, DIM),
    "lowdim": lambda: ProjectedQuantizer(DIM, codebook_dim=2, quantizer=partial(STEQuantizer, 16)),
    "entropy": lambda: EntropyRegularizedQuantizer(DIM, partial(STEQuantizer, 16), weight=1.0),
    "grouped": lambda: GroupedQuantizer(
        DIM, num_groups=2, quantizer=partial(EMAQuantizer, 16, decay=0.9)
    ),
    "residual": lambda: ResidualQuantizer(DIM, num_stages=2, quantizer=partial(STEQuantizer, 16)),
    "growing": lambda: GrowingQuantizer(DIM, initial_size=4, quantizer=partial(STEQuantizer, 16)),
    "ema_accumulated": lambda: AccumulatedEMAQuantizer(16, DIM, decay=0.9, accumulate_batches=2),
    # implied codebooks: their state is the projections (LFQ's batch entropy is all-reduced)
    "fsq": lambda: FSQQuantizer(DIM, levels=[4, 3]),
    "lfq": lambda: LFQQuantizer(DIM, codebook_size=8, tau=0.5),
    "bsq": lambda: BSQQuantizer(DIM, codebook_size=8, tau=0.5),
    "affine": lambda: AffineQuantizer(16, DIM),
    "orthogonal": lambda: OrthogonalRegularizedQuantizer(DIM, quantizer=partial(STEQuantizer, 16)),
    "curriculum": lambda: DimensionCurriculumQuantizer(
        DIM, codebook_dim=2, quantizer=partial(STEQuantizer, 16)
    ),
}


class TinyAutoencoder(nn.Module):
    """A linear encoder in front of the quantizer, so DDP has gradients to all-reduce."""

    def __init__(self, quantizer: nn.Module) -> None:
        super().__init__()
        self.encoder = nn.Linear(DIM, DIM)
        self.quantizer = quantizer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.quantizer(self.encoder(x))
        return out.loss + (out.quantized - x).pow(2).mean()


def worker(rank: int, directory: str) -> None:
    states = {}
    for name, make in QUANTIZERS.items():
        torch.manual_seed(0)  # the same initial model on every rank, as DDP's broadcast gives
        model = TinyAutoencoder(make())
        # no buffer broadcast: EMA statistics must agree by their own all-reduce
        ddp = DistributedDataParallel(model, broadcast_buffers=False)
        optimizer = torch.optim.Adam(ddp.parameters(), lr=0.05)
        generator = torch.Generator().manual_seed(100 + rank)  # different data on every rank
        for step in range(STEPS):
            if step == 2 and name == "growing":
                model.quantizer.grow(16, 0.01, torch.Generator().manual_seed(step))
            optimizer.zero_grad()
            ddp(torch.randn(30 + 10 * rank, DIM, generator=generator)).backward()
            optimizer.step()
        states[name] = {
            key: value.clone()
            for key, value in model.state_dict().items()
            if isinstance(value, torch.Tensor)
        }
    torch.save(states, Path(directory) / f"rank{rank}.pt")


DDP_WORKERS = [worker]  # run in the suite's one process group (ddp_group.py)


def test_every_lever_quantizer_ends_identical_on_both_ranks(ddp_results: DDPResults) -> None:
    folder = ddp_results.folder(worker)
    ranks = [torch.load(folder / f"rank{rank}.pt") for rank in range(WORLD_SIZE)]
    for name in QUANTIZERS:
        first, second = ranks[0][name], ranks[1][name]
        initial = TinyAutoencoder(QUANTIZERS[name]()).state_dict()
        for key, value in first.items():
            assert torch.equal(value, second[key]), f"{name}: {key} differs between ranks"
        # and training did something: some codebook state moved from its initial value
        moved = [k for k, v in first.items() if "quantizer" in k and not torch.equal(v, initial[k])]
        assert moved, name
