"""Benchmark k-means codebook initialisation: batched D^2 seeding against k-means++.

For each codebook size K, on a clustered sample of M encoder-like vectors (d = 32): one
nearest-code pass over the sample (``vqlab.functional.nearest_code``, the unit of cost), then
``KMeansInit``'s k-means (``batched_kmeans_plus_plus`` + 10 Lloyd steps) and, up to
``--reference-max-k``, today's reference (``kmeans_plus_plus``: K sequential draws + the same 10
Lloyd steps). Prints seconds, passes-equivalent (seconds / one pass) and the quantization error
(mean squared distance to the nearest centre) of each, the error ratio against the reference, and
the device name. Medians of ``--repeats`` runs (the reference runs once: it is the slow one).

Run from the repository root: ``python -m experiments.bench_kmeans`` (``--quick``: small sizes;
``--device cuda``).
"""

from __future__ import annotations

import argparse
import os
import statistics

import torch

from experiments.timing import add_device_argument, checked_device, device_line, timed
from vqlab.clustering.kmeans import (
    batched_kmeans_plus_plus,
    kmeans_plus_plus,
    lloyd,
    quantization_error,
)
from vqlab.functional import nearest_code

DIM = 32
LLOYD_STEPS = 10


def sample(num_vectors: int, codebook_size: int, device: torch.device) -> torch.Tensor:
    """Vectors around K / 4 centres of uneven weight: clustered, as encoder outputs are."""
    generator = torch.Generator().manual_seed(0)
    centres = torch.randn(codebook_size // 4 + 1, DIM, generator=generator) * 2
    weights = torch.rand(len(centres), generator=generator) + 0.1
    labels = torch.multinomial(weights, num_vectors, True, generator=generator)
    x = centres[labels] + 0.3 * torch.randn(num_vectors, DIM, generator=generator)
    return x.to(device)


def kmeans_with(seeding, x: torch.Tensor, k: int) -> torch.Tensor:
    generator = torch.Generator(device=x.device).manual_seed(1)
    return lloyd(x, seeding(x, k, generator), LLOYD_STEPS)[0]


def measure_size(k: int, x: torch.Tensor, args: argparse.Namespace, repeats: int) -> None:
    """Print the rows of one codebook size."""
    device = x.device
    one_pass = statistics.median(
        timed(lambda: nearest_code(x, x[:k]), device)[0] for _ in range(repeats)
    )
    runs = [
        timed(lambda: kmeans_with(batched_kmeans_plus_plus, x, k), device) for _ in range(repeats)
    ]
    rows = {"batched + 10 Lloyd": (statistics.median(r[0] for r in runs), runs[0][1])}
    reference_error = None
    if k <= args.reference_max_k:
        rows["k-means++ + 10 Lloyd"] = timed(lambda: kmeans_with(kmeans_plus_plus, x, k), device)
        reference_error = float(quantization_error(x, rows["k-means++ + 10 Lloyd"][1]))
    print(f"| {k} | {len(x)} | one nearest-code pass | {one_pass:.3f} | 1 | | |")
    for contender, (time_taken, centres) in rows.items():
        error = float(quantization_error(x, centres))
        ratio = f"{error / reference_error:.4f}" if reference_error else "not run"
        print(
            f"| {k} | {len(x)} | {contender} | {time_taken:.2f} | "
            f"{time_taken / one_pass:.1f} | {error:.4f} | {ratio} |"
        )


def main(arguments: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 8192, 65536])
    parser.add_argument("--vectors-per-code", type=int, default=4, help="M = this x K, >= 65536")
    parser.add_argument("--reference-max-k", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=3)
    add_device_argument(parser)
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 repeat")
    args = parser.parse_args(arguments)
    device = checked_device(args.device)
    sizes, minimum = (args.sizes, 65536) if not args.quick else ([64], 1024)
    repeats = 1 if args.quick else args.repeats
    print(device_line(device))
    print("| K | M | contender | seconds | passes | error | error / k-means++ |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for k in sizes:
        measure_size(k, sample(max(minimum, args.vectors_per_code * k), k, device), args, repeats)
    print(f"load after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
