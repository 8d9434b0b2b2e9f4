"""Cost of HC-VQ: a whole training step with and without the term, and the regularizer per step.

Run from the repository root (one run, methods interleaved, medians):

    PYTHONPATH=. python experiments/bench_hcvq.py --threads 1 --reps 5 --sizes 128 512

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

The load average (``os.getloadavg``) is printed before and after: the timings are only as quiet
as the machine.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
from collections.abc import Callable

import torch

from experiments.bench_hcvq_topology import make_codebook, reference_step, with_rest_of_step
from vqlab.models import HCVQ
from vqlab.nets import ConvDecoder, ConvEncoder
from vqlab.quantizers import QuantizerOutput, STEQuantizer
from vqlab.regularizers import HCVQRegularizer
from vqlab.topology import HomologyLoss

SHAPE = (3, 32, 32)
BATCH = 32
DIM = 64
PAIRING_EVERY = (10, 25, 50)


def make_model(size: int, enabled: bool, pairing_every: int, asynchronous: bool) -> HCVQ:
    torch.manual_seed(0)
    nets = {"hidden_channels": [64, 128], "latent_dim": DIM, "num_residual_blocks": 2}
    regularizer = HCVQRegularizer(
        HomologyLoss(), pairing_every=pairing_every, asynchronous=asynchronous, enabled=enabled
    )
    return HCVQ(
        ConvEncoder(SHAPE, residual_channels=64, **nets),
        STEQuantizer(size, DIM),
        ConvDecoder(SHAPE, residual_channels=64, **nets),
        functools.partial(torch.optim.Adam, lr=8e-4),
        hcvq=regularizer,
    ).train()


def training_step(model: HCVQ) -> Callable[[], float]:
    """One optimisation step on a fixed random batch; returns its seconds."""
    optimizer = model.optimizer_factory(model.parameters())
    x = torch.rand(BATCH, *SHAPE, generator=torch.Generator().manual_seed(1)) * 2 - 1

    def step() -> float:
        start = time.perf_counter()
        x_hat, quantized = model(x)
        optimizer.zero_grad(set_to_none=True)
        model.losses(x, x_hat, quantized)["loss"].backward()
        optimizer.step()
        return time.perf_counter() - start

    return step


def regularizer_step(size: int, pairing_every: int, asynchronous: bool) -> Callable[[], float]:
    """The HC-VQ term alone: entropy scale, diagrams, loss, backward to the codebook."""
    codebook = make_codebook(size, "reference").requires_grad_(True)
    regularizer = HCVQRegularizer(
        HomologyLoss(), pairing_every=pairing_every, asynchronous=asynchronous
    )
    # s > 0 as after the first period (default 200 steps), so the term and its backward are paid
    regularizer.entropy_scale.scale.fill_(1.0)
    x = torch.rand(BATCH, *SHAPE) * 2 - 1
    indices = torch.randint(0, size, (BATCH, 8, 8))
    counts = torch.bincount(indices.flatten(), minlength=size).float()
    quantized = QuantizerOutput(torch.empty(0), indices, torch.zeros(()), counts)

    def step() -> float:
        start = time.perf_counter()
        regularizer(codebook, x, quantized).backward()
        codebook.grad = None
        return time.perf_counter() - start

    return step


def median_ms(methods: dict[str, Callable[[], float]], steps: int, reps: int) -> dict[str, float]:
    """Median over ``reps`` repetitions of the mean ms per step of ``steps`` steps, interleaved."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    for rep in range(reps + 1):  # repetition 0 warms up (workers, allocator): discarded
        for name, step in methods.items():
            seconds = sum(step() for _ in range(steps)) / steps
            if rep > 0:
                times[name].append(seconds)
    return {name: 1e3 * statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--rest-ms", type=float, default=10.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"load average before: {os.getloadavg()}")
    ks = " | ".join(f"async k={every} ms (ratio)" for every in PAIRING_EVERY)
    print(f"| K | plain step ms | {ks} |")
    print("|---" * (2 + len(PAIRING_EVERY)) + "|")
    for size in args.sizes:
        steps = {"plain": training_step(make_model(size, False, 10, False))}
        for every in PAIRING_EVERY:
            steps[f"k{every}"] = training_step(make_model(size, True, every, True))
        ms = median_ms(steps, steps=max(PAIRING_EVERY), reps=args.reps)
        cells = [
            f"{ms[f'k{every}']:.1f} ({ms[f'k{every}'] / ms['plain']:.2f}x)"
            for every in PAIRING_EVERY
        ]
        print(f"| {size} | {ms['plain']:.1f} | {' | '.join(cells)} |")
    print()
    modes = [(mode, every) for mode in ("sync", "async") for every in PAIRING_EVERY]
    names = [f"{mode}{every}" for mode, every in modes]
    header = " | ".join(f"ours {mode} k={every} ms (ratio)" for mode, every in modes)
    print(f"| K | reference ms | {header} |")
    print("|---" * (2 + len(names)) + "|")
    for size in args.sizes:
        codebook = make_codebook(size, "reference").requires_grad_(True)
        methods = {"reference": reference_step(codebook, HomologyLoss())}
        for mode in ("sync", "async"):
            for every in PAIRING_EVERY:
                methods[f"{mode}{every}"] = regularizer_step(size, every, mode == "async")
        methods = {name: with_rest_of_step(step, args.rest_ms) for name, step in methods.items()}
        ms = median_ms(methods, steps=max(PAIRING_EVERY), reps=args.reps)
        cells = [f"{ms[name]:.2f} ({ms['reference'] / ms[name]:.1f}x)" for name in names]
        print(f"| {size} | {ms['reference']:.1f} | {' | '.join(cells)} |")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
