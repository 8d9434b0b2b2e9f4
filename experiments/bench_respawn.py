"""Benchmark the codebook-health callbacks against the plain training step they ride on.

The plain step, for N encoder outputs of size d and a codebook of K codes: a linear encoder
(d -> d) on fixed inputs, ``EMAQuantizer`` in training mode, loss = quantizer loss + a dummy
downstream term, backward, Adam step. Contenders, interleaved round-robin in one process (so
drifting load hits all alike), median and minimum over ``--repeats``:

- ``plain``: the step alone (the baseline of every ratio);
- ``respawn (no event)``: the step with ``DeadCodeRespawn``'s forward hook recording the window
  (a step between two events: what almost every step pays);
- ``respawn (event)``: the step plus one respawn event (window sum, dead codes, candidates,
  ``replace_codes``, optimizer-row reset);
- ``k-means init``: ``KMeansInit``'s k-means on M = 2N vectors (batched D^2 seeding + 10 Lloyd
  iterations), paid once per run, given as seconds and in plain steps.

Run from the repository root: ``python -m experiments.bench_respawn``
(``--quick`` for a smoke run with small sizes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from types import SimpleNamespace

import torch
from torch import nn

from vqlab.callbacks import DeadCodeRespawn
from vqlab.clustering.kmeans import kmeans
from vqlab.quantizers import EMAQuantizer


class EncoderQuantizer(nn.Module):
    def __init__(self, codebook_size: int, dim: int) -> None:
        super().__init__()
        self.encoder = nn.Linear(dim, dim)
        self.quantizer = EMAQuantizer(codebook_size, dim)

    def forward(self, x: torch.Tensor):
        return self.quantizer(self.encoder(x))


def make_steps(codebook_size: int, dim: int, num_vectors: int) -> dict[str, Callable[[], None]]:
    """One closure per contender, each with its own model, on the same fixed inputs."""
    x = torch.randn(num_vectors, dim)

    def build(with_respawn: bool):
        torch.manual_seed(0)
        model = EncoderQuantizer(codebook_size, dim).train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        trainer = SimpleNamespace(optimizers=[optimizer])
        callback = DeadCodeRespawn(threshold=1) if with_respawn else None
        if callback is not None:
            callback.setup(None, model, "fit")

        def step() -> None:
            optimizer.zero_grad(set_to_none=True)
            out = model(x)
            (out.loss + out.quantized.square().mean()).backward()
            optimizer.step()

        return step, model, callback, trainer

    plain, *_ = build(False)
    no_event, *_ = build(True)
    event_step, model, callback, trainer = build(True)

    def with_event() -> None:
        event_step()
        callback.respawn("quantizer", model.quantizer, trainer)

    return {"plain": plain, "respawn (no event)": no_event, "respawn (event)": with_event}


def time_kmeans(codebook_size: int, dim: int, num_vectors: int) -> float:
    """Seconds of ``KMeansInit``'s k-means (seeding + 10 Lloyd steps) on ``num_vectors`` vectors."""
    vectors = torch.randn(num_vectors, dim)
    start = time.perf_counter()
    kmeans(vectors, codebook_size, 10, torch.Generator().manual_seed(0))
    return time.perf_counter() - start


def measure(steps: dict[str, Callable[[], None]], repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in steps}
    for step in steps.values():
        step()  # warm-up
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-vectors", type=int, default=32768)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 8192])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 2 repeats")
    args = parser.parse_args()
    if args.quick:
        args.num_vectors, args.dim, args.sizes, args.repeats = 2048, 16, [64], 2
    torch.manual_seed(0)
    print(
        f"N = {args.num_vectors}, d = {args.dim}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, load average before {os.getloadavg()[0]:.2f}"
    )
    print("| K | contender | median ms | min ms | median / plain |")
    print("| --- | --- | --- | --- | --- |")
    for codebook_size in args.sizes:
        times = measure(make_steps(codebook_size, args.dim, args.num_vectors), args.repeats)
        plain = statistics.median(times["plain"])
        for name, values in times.items():
            median = statistics.median(values)
            print(
                f"| {codebook_size} | {name} | {1e3 * median:.1f} | {1e3 * min(values):.1f} "
                f"| {median / plain:.3f} |"
            )
        seconds = time_kmeans(codebook_size, args.dim, 2 * args.num_vectors)
        print(
            f"| {codebook_size} | k-means init, {2 * args.num_vectors} vectors | "
            f"{1e3 * seconds:.0f} | | {seconds / plain:.0f} plain steps |"
        )
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
