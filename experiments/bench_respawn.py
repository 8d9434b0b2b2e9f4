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
from collections.abc import Callable
from types import SimpleNamespace

import torch
from torch import nn

from experiments.timing import (
    add_device_argument,
    checked_device,
    device_line,
    time_contenders,
    timed,
)
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


def make_steps(
    codebook_size: int, dim: int, num_vectors: int, device: torch.device
) -> dict[str, Callable[[], None]]:
    """One closure per contender, each with its own model, on the same fixed inputs."""
    x = torch.randn(num_vectors, dim, device=device)

    def build(with_respawn: bool):
        torch.manual_seed(0)
        model = EncoderQuantizer(codebook_size, dim).to(device).train()
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


def time_kmeans(codebook_size: int, dim: int, num_vectors: int, device: torch.device) -> float:
    """Seconds of ``KMeansInit``'s k-means (seeding + 10 Lloyd steps) on ``num_vectors`` vectors."""
    vectors = torch.randn(num_vectors, dim, device=device)
    generator = torch.Generator(device=device).manual_seed(0)
    return timed(lambda: kmeans(vectors, codebook_size, 10, generator), device)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-vectors", type=int, default=32768)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 8192])
    parser.add_argument("--repeats", type=int, default=15)
    add_device_argument(parser)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 2 repeats")
    args = parser.parse_args()
    if args.quick:
        args.num_vectors, args.dim, args.sizes, args.repeats = 2048, 16, [64], 2
    device = checked_device(args.device)
    torch.manual_seed(0)
    print(f"{device_line(device)}\nN = {args.num_vectors}, d = {args.dim}")
    print("| K | contender | median ms | min ms | median / plain |")
    print("| --- | --- | --- | --- | --- |")
    for codebook_size in args.sizes:
        steps = make_steps(codebook_size, args.dim, args.num_vectors, device)
        times = time_contenders(steps, device, args.repeats, warmup=1)
        plain = statistics.median(times["plain"])
        for name, values in times.items():
            median = statistics.median(values)
            print(
                f"| {codebook_size} | {name} | {1e3 * median:.1f} | {1e3 * min(values):.1f} "
                f"| {median / plain:.3f} |"
            )
        seconds = time_kmeans(codebook_size, args.dim, 2 * args.num_vectors, device)
        print(
            f"| {codebook_size} | k-means init, {2 * args.num_vectors} vectors | "
            f"{1e3 * seconds:.0f} | | {seconds / plain:.0f} plain steps |"
        )
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
