"""Per-training-step cost of the HC-VQ homology term: vqlab's reusable pairing vs the reference's.

Reference way (HC-VQ, Volkov 2022, arXiv:2211.14363, its code): torch-topological's
``VietorisRipsComplex(dim=1)`` full persistence of the codebook on every step, then the b1/eps0
loss and backward. vqlab: :class:`vqlab.topology.ReusablePairing` in synchronous mode (every
refresh on the training thread, the worst case), the same loss and backward, amortised over
blocks of ``pairing_every`` steps that each contain exactly one refresh. Methods are interleaved
within each repetition and the median block time per step is reported. The codebook is held
fixed: the cost of an optimizer step is not part of the topology term.

Also printed: ``refresh`` (one pairing computation, what the asynchronous mode moves to a worker
process), ``evaluate`` (gather + loss + backward with a fixed pairing) and ``async`` (asynchronous
mode, pairing_every = 10: time spent in the homology term on the training thread, waits for the
worker included, while the rest of each training step is simulated by ``--rest-ms`` of single-thread
matmuls; the worker process runs on another core).

    python -m experiments.bench_hcvq_topology [--threads 1] [--reps 7] [--sizes 128 512]
                                              [--rest-ms 10] [--quick]

Needs torch-topological (the reference's library), from the ``bench`` extra.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch

from experiments import timing
from experiments.optional import require
from vqlab.topology import HomologyLoss, Pairing, ReusablePairing

DIM = 64
PAIRING_EVERY = (1, 10, 50)
BLOCK_MIN = 3  # steps per timed block for methods that recompute every step
ASYNC_EVERY = 10

Step = Callable[[], float]
"""One training step of a method; returns the seconds spent in the homology term."""


def make_codebook(
    size: int, init: str, seed: int = 0, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """The reference's init ``U(-1/K, 1/K)`` or a trained-like scale (standard normal)."""
    generator = torch.Generator().manual_seed(seed)
    if init == "reference":
        return ((torch.rand(size, DIM, generator=generator) * 2 - 1) / size).to(device)
    return torch.randn(size, DIM, generator=generator).to(device)


def timed(work: Callable[[], object], device: torch.device) -> Step:
    """A step timing ``work``, ``device`` synchronised around it."""
    return lambda: timing.timed(work, device)[0]


def reference_step(codebook: torch.Tensor, loss: HomologyLoss) -> Step:
    """The reference's way: torch-topological's full persistence on every step."""
    complex_ = require("torch_topological.nn", "torch-topological").VietorisRipsComplex(dim=1)

    def step() -> None:
        loss(*(info.diagram for info in complex_(codebook))).backward()

    return timed(step, codebook.device)


def ours_step(codebook: torch.Tensor, loss: HomologyLoss, pairing: ReusablePairing) -> Step:
    return timed(lambda: loss(*pairing.step(codebook)).backward(), codebook.device)


def evaluate_step(codebook: torch.Tensor, loss: HomologyLoss) -> Step:
    pairing = Pairing.compute(codebook)
    return timed(lambda: loss(*pairing.diagrams(codebook)).backward(), codebook.device)


def with_rest_of_step(step: Step, rest_ms: float) -> Step:
    """``step`` followed by ``rest_ms`` of busy single-thread compute (not counted)."""
    matrix = torch.randn(128, 128)

    def full_step() -> float:
        seconds = step()
        end = time.perf_counter() + rest_ms / 1e3
        while time.perf_counter() < end:
            matrix.mm(matrix)
        return seconds

    return full_step


def seconds_per_step(step: Step, steps: int) -> float:
    return sum(step() for _ in range(steps)) / steps


def bench(
    size: int,
    init: str,
    reps: int,
    rest_ms: float,
    pairing_every: tuple[int, ...] = PAIRING_EVERY,
    device: torch.device | str = "cpu",
) -> dict[str, float]:
    """Median milliseconds per step of every method, interleaved within each repetition."""
    codebook = make_codebook(size, init, device=device).requires_grad_(True)
    loss = HomologyLoss()
    methods = {"reference": (reference_step(codebook, loss), BLOCK_MIN)}
    for every in pairing_every:
        step = ours_step(codebook, loss, ReusablePairing(pairing_every=every))
        methods[f"every_{every}"] = (step, max(every, BLOCK_MIN))
    methods["refresh"] = (timed(lambda: Pairing.compute(codebook), device), BLOCK_MIN)
    methods["evaluate"] = (evaluate_step(codebook, loss), 50)
    times: dict[str, list[float]] = {name: [] for name in methods}
    times["async"] = []
    with ReusablePairing(pairing_every=ASYNC_EVERY, asynchronous=True) as background:
        background_step = with_rest_of_step(ours_step(codebook, loss, background), rest_ms)
        methods["async"] = (background_step, ASYNC_EVERY)
        seconds_per_step(background_step, 2 * ASYNC_EVERY)  # start the worker, first adoption
        for rep in range(reps + 1):  # repetition 0 warms up (and starts the worker): discarded
            for name, (step, steps) in methods.items():
                seconds = seconds_per_step(step, steps)
                codebook.grad = None
                if rep > 0:
                    times[name].append(seconds)
    return {name: 1e3 * statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--rest-ms", type=float, default=10.0)
    timing.add_device_argument(parser)
    parser.add_argument("--quick", action="store_true", help="smoke run: K = 16, 1 rep, k = 1")
    args = parser.parse_args()
    pairing_every = PAIRING_EVERY
    if args.quick:
        args.reps, args.sizes, args.rest_ms, pairing_every = 1, [16], 0.0, (1,)
    require("torch_topological", "torch-topological")
    torch.set_num_threads(args.threads)
    device = timing.checked_device(args.device)
    ours = " | ".join(f"ours k={every} ms (ratio)" for every in pairing_every)
    print(f"{timing.device_line(device)}\nd {DIM}, reps {args.reps}")
    print(
        f"| K | init | reference ms | {ours} | refresh ms | evaluate ms | "
        f"async k={ASYNC_EVERY} ms (ratio) |"
    )
    print("|---" * (6 + len(pairing_every)) + "|")
    for size in args.sizes:
        for init in ("reference", "randn"):
            ms = bench(size, init, args.reps, args.rest_ms, pairing_every, device)
            cells = " | ".join(
                f"{ms[f'every_{every}']:.2f} ({ms['reference'] / ms[f'every_{every}']:.1f}x)"
                for every in pairing_every
            )
            print(
                f"| {size} | {init} | {ms['reference']:.2f} | {cells} | "
                f"{ms['refresh']:.2f} | {ms['evaluate']:.3f} | "
                f"{ms['async']:.3f} ({ms['reference'] / ms['async']:.1f}x) |",
                flush=True,
            )
    print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
