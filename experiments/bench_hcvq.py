"""Cost of HC-VQ: a whole training step with and without the term, and the regularizer per step.

Run from the repository root (one run, methods interleaved, medians; ``--quick``: tiny sizes):

    python -m experiments.bench_hcvq --threads 1 --reps 5 --sizes 128 512

1. Training step (forward, loss, backward, Adam step) of ``HCVQ`` with ``enabled=false`` (plain
   VQ-VAE) against ``enabled=true`` with the asynchronous reusable pairing, K in ``--sizes``,
   d = 64. The paper's network on 64x64 CelebA at batch 64 takes seconds per step on 2 CPU cores,
   so a representative smaller setting is used: the same architecture shape (conv 3->64->128 k4 s2,
   3x3 conv, 2 residual blocks, 1x1 to d = 64) on 3x32x32 inputs at batch 32 (8x8 latents, 2048
   vectors per batch).
2. Regularizer per step (entropy scale + homology loss + backward to the codebook): the reference's
   way (torch-topological ``VietorisRipsComplex(dim=1)`` on every step, from
   ``bench_hcvq_topology.reference_step``) against ``HCVQRegularizer`` (synchronous and
   asynchronous refresh), on a codebook at the reference's init scale, while the training thread
   does ``--rest-ms`` of other work per step (the rest of a training step, as in the topology
   bench). ``s`` is set to 1 (as after the first ``period`` steps), so the term is paid in full;
   ``period`` is the default (200), as in training.

The load average (``os.getloadavg``) is printed before, after and beside every row: the timings
are only as quiet as the machine. Needs torch-topological (the reference), from the ``bench`` extra.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
from collections.abc import Callable

import torch

from experiments.bench_hcvq_topology import make_codebook, reference_step, with_rest_of_step
from experiments.optional import require
from experiments.timing import add_device_argument, checked_device, device_line, timed
from vqlab.models import HCVQ
from vqlab.nets import ConvDecoder, ConvEncoder
from vqlab.quantizers import QuantizerOutput, STEQuantizer
from vqlab.regularizers import HCVQRegularizer
from vqlab.topology import HomologyLoss

SHAPE = (3, 32, 32)
BATCH = 32
DIM = 64
PAIRING_EVERY = (10, 25, 50)
QUICK = {"shape": (3, 8, 8), "batch": 4, "pairing_every": (2,), "sizes": [16], "reps": 1}


def make_model(
    size: int, enabled: bool, pairing_every: int, asynchronous: bool, shape: tuple[int, ...]
) -> HCVQ:
    torch.manual_seed(0)
    nets = {"hidden_channels": [64, 128], "latent_dim": DIM, "num_residual_blocks": 2}
    regularizer = HCVQRegularizer(
        HomologyLoss(), pairing_every=pairing_every, asynchronous=asynchronous, enabled=enabled
    )
    return HCVQ(
        ConvEncoder(shape, residual_channels=64, **nets),
        STEQuantizer(size, DIM),
        ConvDecoder(shape, residual_channels=64, **nets),
        functools.partial(torch.optim.Adam, lr=8e-4),
        hcvq=regularizer,
    ).train()


def training_step(
    model: HCVQ, shape: tuple[int, ...], batch: int, device: torch.device
) -> Callable[[], float]:
    """One optimisation step on a fixed random batch; returns its seconds."""
    model.to(device)
    optimizer = model.optimizer_factory(model.parameters())
    x = (torch.rand(batch, *shape, generator=torch.Generator().manual_seed(1)) * 2 - 1).to(device)

    def work() -> None:
        x_hat, quantized = model(x)
        optimizer.zero_grad(set_to_none=True)
        model.losses(x, x_hat, quantized)["loss"].backward()
        optimizer.step()

    return lambda: timed(work, device)[0]


def regularizer_step(
    size: int,
    pairing_every: int,
    asynchronous: bool,
    shape: tuple[int, ...],
    batch: int,
    device: torch.device,
) -> Callable[[], float]:
    """The HC-VQ term alone: entropy scale, diagrams, loss, backward to the codebook."""
    codebook = make_codebook(size, "reference", device=device).requires_grad_(True)
    regularizer = HCVQRegularizer(
        HomologyLoss(), pairing_every=pairing_every, asynchronous=asynchronous
    )
    # s > 0 as after the first period (default 200 steps), so the term and its backward are paid
    regularizer.to(device).entropy_scale.scale.fill_(1.0)
    x = torch.rand(batch, *shape, device=device) * 2 - 1
    latent = shape[-1] // 4  # two stride-2 convolutions
    indices = torch.randint(0, size, (batch, latent, latent), device=device)
    counts = torch.bincount(indices.flatten(), minlength=size).float()
    empty, zero = torch.empty(0, device=device), torch.zeros((), device=device)
    quantized = QuantizerOutput(empty, indices, zero, counts)

    def work() -> None:
        regularizer(codebook, x, quantized).backward()
        codebook.grad = None

    return lambda: timed(work, device)[0]


def median_ms(methods: dict[str, Callable[[], float]], steps: int, reps: int) -> dict[str, float]:
    """Median over ``reps`` repetitions of the mean ms per step of ``steps`` steps, interleaved."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    for rep in range(reps + 1):  # repetition 0 warms up (workers, allocator): discarded
        for name, step in methods.items():
            seconds = sum(step() for _ in range(steps)) / steps
            if rep > 0:
                times[name].append(seconds)
    return {name: 1e3 * statistics.median(values) for name, values in times.items()}


def load() -> str:
    """The 1-minute load average, printed beside every row."""
    return f"{os.getloadavg()[0]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--rest-ms", type=float, default=10.0)
    parser.add_argument(
        "--tables", choices=("both", "step", "regularizer"), default="both", help="which table(s)"
    )
    add_device_argument(parser)
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny net, K = 16, k = 2")
    args = parser.parse_args()
    shape, batch, pairing_every = SHAPE, BATCH, PAIRING_EVERY
    if args.quick:
        shape, batch, pairing_every = QUICK["shape"], QUICK["batch"], QUICK["pairing_every"]
        args.sizes, args.reps, args.rest_ms = QUICK["sizes"], QUICK["reps"], 0.0
    require("torch_topological", "torch-topological")
    torch.set_num_threads(args.threads)
    device = checked_device(args.device)
    print(device_line(device))
    if args.tables != "regularizer":
        step_table(args.sizes, args.reps, shape, batch, pairing_every, device)
    if args.tables != "step":
        regularizer_table(args, shape, batch, pairing_every, device)
    print(f"load average after: {load()}")


def step_table(
    sizes: list[int],
    reps: int,
    shape: tuple[int, ...],
    batch: int,
    pairing_every: tuple[int, ...],
    device: torch.device,
) -> None:
    """Whole training step, plain against HC-VQ with asynchronous pairing."""
    ks = " | ".join(f"async k={every} ms (ratio)" for every in pairing_every)
    print(f"| K | plain step ms | {ks} | load |")
    print("|---" * (3 + len(pairing_every)) + "|")
    for size in sizes:
        plain = make_model(size, False, 10, False, shape)
        steps = {"plain": training_step(plain, shape, batch, device)}
        for every in pairing_every:
            model = make_model(size, True, every, True, shape)
            steps[f"k{every}"] = training_step(model, shape, batch, device)
        ms = median_ms(steps, steps=max(pairing_every), reps=reps)
        cells = [
            f"{ms[f'k{every}']:.1f} ({ms[f'k{every}'] / ms['plain']:.2f}x)"
            for every in pairing_every
        ]
        print(f"| {size} | {ms['plain']:.1f} | {' | '.join(cells)} | {load()} |", flush=True)
    print()


def regularizer_table(
    args: argparse.Namespace,
    shape: tuple[int, ...],
    batch: int,
    pairing_every: tuple[int, ...],
    device: torch.device,
) -> None:
    """The regularizer alone per step, the reference's way against ours (sync and async);
    ``args``: ``sizes``, ``reps``, ``rest_ms``, ``quick``."""
    sizes, reps, rest_ms, quick = args.sizes, args.reps, args.rest_ms, args.quick
    # --quick: the async path already ran in the step table; one worker start is enough
    kinds = ("sync",) if quick else ("sync", "async")
    modes = [(mode, every) for mode in kinds for every in pairing_every]
    names = [f"{mode}{every}" for mode, every in modes]
    header = " | ".join(f"ours {mode} k={every} ms (ratio)" for mode, every in modes)
    print(f"| K | reference ms | {header} | load |")
    print("|---" * (3 + len(names)) + "|")
    for size in sizes:
        codebook = make_codebook(size, "reference", device=device).requires_grad_(True)
        methods = {"reference": reference_step(codebook, HomologyLoss())}
        for mode, every in modes:
            methods[f"{mode}{every}"] = regularizer_step(
                size, every, mode == "async", shape, batch, device
            )
        methods = {name: with_rest_of_step(step, rest_ms) for name, step in methods.items()}
        ms = median_ms(methods, steps=max(pairing_every), reps=reps)
        cells = [f"{ms[name]:.2f} ({ms['reference'] / ms[name]:.1f}x)" for name in names]
        print(f"| {size} | {ms['reference']:.1f} | {' | '.join(cells)} | {load()} |", flush=True)


if __name__ == "__main__":
    main()
