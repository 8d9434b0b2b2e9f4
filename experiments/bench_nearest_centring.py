"""Cost of centring on the codebook mean in ``vqlab.functional.nearest_code``: A/B in one process.

``uncentred`` is the search without the centring (``|e|^2 - 2 z.e`` on the raw values, blocks of
``block_rows // K`` rows); ``centred`` is ``vqlab.functional.nearest_code``. The two are interleaved
round-robin after a warm-up, so machine load hits both alike; medians and minima in ms, N = 32768.

Run from the repository root: ``python -m experiments.bench_nearest_centring --repeats 15``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch import Tensor

from vqlab.functional import nearest_code


def uncentred(z: Tensor, codebook: Tensor, block_rows: int = 1 << 22) -> Tensor:
    """The search as it was before the centring (same blocking and buffer reuse)."""
    with torch.no_grad():
        codebook_sq = codebook.pow(2).sum(-1)
        step = max(1, block_rows // codebook.shape[0])
        indices = torch.empty(z.shape[0], dtype=torch.long)
        scores = z.new_empty(step, codebook.shape[0])
        for start in range(0, z.shape[0], step):
            block = z[start : start + step]
            block_scores = scores[: block.shape[0]]
            torch.addmm(codebook_sq, block, codebook.t(), alpha=-2.0, out=block_scores)
            torch.argmin(block_scores, -1, out=indices[start : start + step])
        return indices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="smoke run: K = 64, d = 8, 2 repeats")
    args = parser.parse_args()
    sizes, rows = ((512, 64), (8192, 32)), 32768
    if args.quick:
        sizes, rows, args.repeats = ((64, 8),), 1024, 2
    torch.set_num_threads(args.threads)
    print(f"load average before: {os.getloadavg()}")
    print("| K | d | uncentred ms (median / min) | centred ms (median / min) | ratio of minima |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for size, dim in sizes:
        z, codebook = torch.randn(rows, dim), torch.randn(size, dim)
        contenders = {"uncentred": uncentred, "centred": nearest_code}
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for search in contenders.values():
            search(z, codebook)  # warm-up
        for _ in range(args.repeats):
            for name, search in contenders.items():
                start = time.perf_counter()
                search(z, codebook)
                times[name].append((time.perf_counter() - start) * 1e3)
        cells = [f"{statistics.median(t):.1f} / {min(t):.1f}" for t in times.values()]
        ratio = min(times["centred"]) / min(times["uncentred"])
        print(f"| {size} | {dim} | {cells[0]} | {cells[1]} | {ratio:.2f} |")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
