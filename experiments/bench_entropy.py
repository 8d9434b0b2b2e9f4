"""The entropy lever's cost against a plain step, and the variance of its row-sampled estimate.

Contenders, one training step each (forward + backward of ``out.loss + quantized^2``, as
``bench_quantizer --suite levers`` times them), N vectors, K codes, d = 64, interleaved
round-robin in one process, medians over ``--repeats``:

- ``plain``: ``STEQuantizer`` alone;
- ``entropy full``: ``EntropyRegularizedQuantizer`` over it (weight 0.1, tau 1), the soft
  assignment over all N rows;
- ``entropy sample S``: the same with ``sample_rows=S`` for each S in ``--sample-rows``: the soft
  assignment on S rows drawn uniformly with replacement (an unbiased estimate of the batch's mean
  assignment q).

Each ratio is the contender's median over the plain step's. Then, on one fixed batch (the same z
and codebook), ``--draws`` evaluations of the sampled term (``kl_uniform``, unweighted) against
the full one: the full value, the draws' mean, their mean relative to the full value (q is
unbiased, but the KL is a non-linear function of q: a small bias remains), the standard deviation
and std / |full|, and the mean L1 distance of the sampled q to the full q.

Codebook: K rows of z (as after a data-dependent init such as ``KMeansInit``), so the soft
assignment is peaked as in training, not the near-uniform one of the tiny default init.

Run from the repository root: ``python -m experiments.bench_entropy --repeats 11``
(``--quick``: N = 1024, K = 64, d = 8, S in {256, 64}; ``--device cuda``).
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from functools import partial

import torch

from experiments.lever_contenders import vqlab_loss
from experiments.timing import add_device_argument, checked_device, device_line, time_contenders
from vqlab.quantizers import EntropyRegularizedQuantizer, STEQuantizer
from vqlab.quantizers.entropy_regularized import mean_soft_assignment, soft_assignment_entropy_loss

TAU = 1.0
WEIGHT = 0.1


def make_quantizer(
    z: torch.Tensor, codebook_size: int, sample_rows: int | None, entropy: bool
) -> torch.nn.Module:
    """The plain STE quantizer or the entropy lever over it, its codebook K rows of ``z``."""
    child = partial(STEQuantizer, codebook_size, beta=0.25)
    quantizer = (
        EntropyRegularizedQuantizer(
            z.shape[1], child, weight=WEIGHT, tau=TAU, sample_rows=sample_rows
        )
        if entropy
        else child(dim=z.shape[1])
    ).to(z.device)
    codebook = quantizer.quantizers[0].codebook if entropy else quantizer.codebook
    with torch.no_grad():
        codebook.copy_(z[:codebook_size])
    return quantizer.train()


def make_steps(
    z: torch.Tensor, codebook_size: int, sample_rows: list[int]
) -> dict[str, Callable[[], None]]:
    """One closure per contender: forward + backward on the fixed ``z``."""
    quantizers = {"plain": make_quantizer(z, codebook_size, None, entropy=False)}
    quantizers["entropy full"] = make_quantizer(z, codebook_size, None, entropy=True)
    for rows in sample_rows:
        quantizers[f"entropy sample {rows}"] = make_quantizer(z, codebook_size, rows, entropy=True)
    z = z.detach().requires_grad_(True)

    def step_of(quantizer: torch.nn.Module) -> Callable[[], None]:
        def step() -> None:
            vqlab_loss(quantizer, z).backward()
            z.grad = None
            quantizer.zero_grad(set_to_none=True)

        return step

    return {name: step_of(quantizer) for name, quantizer in quantizers.items()}


@torch.no_grad()
def estimate_spread(z: torch.Tensor, codebook: torch.Tensor, rows: int, draws: int) -> list[str]:
    """Cells of one variance row: full, mean, mean/full, std, std/|full|, mean |q_s - q|_1."""
    full = float(soft_assignment_entropy_loss(z, codebook, TAU, "kl_uniform"))
    q_full = mean_soft_assignment(z, codebook, TAU)
    torch.manual_seed(1)
    terms, distances = [], []
    for _ in range(draws):
        q = mean_soft_assignment(z, codebook, TAU, sample_rows=rows)
        terms.append(float(soft_assignment_entropy_loss(z, codebook, TAU, "kl_uniform", rows)))
        distances.append(float((q - q_full).abs().sum()))
    mean, std = statistics.mean(terms), statistics.stdev(terms)
    return [
        f"{full:.4g}",
        f"{mean:.4g}",
        f"{mean / full:.4f}",
        f"{std:.3g}",
        f"{std / abs(full):.4f}",
        f"{statistics.mean(distances):.4f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-vectors", type=int, default=32768, help="N")
    parser.add_argument("--codebook-size", type=int, default=512, help="K")
    parser.add_argument("--dim", type=int, default=64, help="d")
    parser.add_argument("--sample-rows", type=int, nargs="+", default=[4096, 1024])
    parser.add_argument("--repeats", type=int, default=11, help="timed rounds per contender")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--draws", type=int, default=100, help="sampled estimates per row")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    add_device_argument(parser)
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny sizes")
    args = parser.parse_args()
    if args.quick:
        args.num_vectors, args.codebook_size, args.dim = 1024, 64, 8
        args.sample_rows, args.repeats, args.warmup, args.draws = [256, 64], 2, 1, 20
    torch.set_num_threads(args.threads)
    device = checked_device(args.device)
    torch.manual_seed(0)
    z = torch.randn(args.num_vectors, args.dim, device=device)
    print(device_line(device))
    print(
        f"N = {args.num_vectors}, K = {args.codebook_size}, d = {args.dim}, tau = {TAU}, "
        f"weight = {WEIGHT}, repeats = {args.repeats}\n"
    )
    steps = make_steps(z, args.codebook_size, args.sample_rows)
    seconds = time_contenders(steps, device, args.repeats, args.warmup)
    plain = statistics.median(seconds["plain"])
    print("| contender | median ms | min ms | / plain |")
    print("| --- | ---: | ---: | ---: |")
    for name, values in seconds.items():
        median = statistics.median(values)
        print(f"| {name} | {median * 1e3:.1f} | {min(values) * 1e3:.1f} | {median / plain:.2f} |")
    print(f"\nsampled term against the full one, {args.draws} draws on the fixed batch\n")
    print("| sample rows | full term | mean | mean / full | std | std / abs(full) | mean L1(q) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    codebook = z[: args.codebook_size]
    for rows in args.sample_rows:
        cells = estimate_spread(z, codebook, rows, args.draws)
        print(f"| {rows} | {' | '.join(cells)} |", flush=True)
    print(f"\n{device_line(device)}")


if __name__ == "__main__":
    main()
