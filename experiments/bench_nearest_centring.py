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

import torch
from torch import Tensor

from experiments.timing import add_device_argument, checked_device, device_line, time_contenders
from vqlab.functional import nearest_code


def uncentred(z: Tensor, codebook: Tensor, block_rows: int = 1 << 22) -> Tensor:
    """The search as it was before the centring (same blocking and buffer reuse)."""
    with torch.no_grad():
        codebook_sq = codebook.pow(2).sum(-1)
        step = max(1, block_rows // codebook.shape[0])
        indices = torch.empty(z.shape[0], dtype=torch.long, device=z.device)
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
    add_device_argument(parser)
    parser.add_argument("--quick", action="store_true", help="smoke run: K = 64, d = 8, 2 repeats")
    args = parser.parse_args()
    sizes, rows = ((512, 64), (8192, 32)), 32768
    if args.quick:
        sizes, rows, args.repeats = ((64, 8),), 1024, 2
    torch.set_num_threads(args.threads)
    device = checked_device(args.device)
    print(device_line(device))
    print("| K | d | uncentred ms (median / min) | centred ms (median / min) | ratio of minima |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for size, dim in sizes:
        z, codebook = torch.randn(rows, dim, device=device), torch.randn(size, dim, device=device)
        contenders = {
            "uncentred": lambda z=z, codebook=codebook: uncentred(z, codebook),
            "centred": lambda z=z, codebook=codebook: nearest_code(z, codebook),
        }
        seconds = time_contenders(contenders, device, args.repeats, warmup=1)
        times = {name: [1e3 * value for value in values] for name, values in seconds.items()}
        cells = [f"{statistics.median(t):.1f} / {min(t):.1f}" for t in times.values()]
        ratio = min(times["centred"]) / min(times["uncentred"])
        print(f"| {size} | {dim} | {cells[0]} | {cells[1]} | {ratio:.2f} |")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
