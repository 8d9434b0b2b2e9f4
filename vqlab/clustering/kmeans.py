"""k-means in torch on the training device: D^2 seeding, then Lloyd iterations.

Arthur & Vassilvitskii, "k-means++: The Advantages of Careful Seeding", SODA 2007 (seeding: the
next centre is drawn with probability proportional to ``D(x)^2``, the squared distance to the
nearest centre chosen so far); Lloyd, "Least squares quantization in PCM", 1982 (alternate
nearest-centre assignment and centroid update). Used to initialise codebooks from encoder outputs,
as in Zeghidour et al., "SoundStream", 2021, arXiv:2107.03312, Sec. 3.3.

k-means++ draws its K centres one after another: K passes over the data, each ending in a host
sync for the draw, which dominates at the codebook sizes of tokenizers (K = 8192: 26x one
nearest-code pass). ``batched_kmeans_plus_plus`` draws them in ``rounds`` batches instead, as
k-means|| does (Bahmani et al., "Scalable K-Means++", VLDB 2012, arXiv:1203.6402, Alg. 2: sample
many centres per pass in proportion to ``D(x)^2``), so its distance updates add up to one
nearest-code pass.
"""

from __future__ import annotations

import torch
from torch import Tensor

from vqlab.errors import check_positive
from vqlab.functional import code_histogram, nearest_code


@torch.no_grad()
def kmeans_plus_plus(x: Tensor, k: int, generator: torch.Generator) -> Tensor:
    """``k`` centres drawn from the rows of ``x`` (n, d) by k-means++ seeding -> (k, d).

    The running ``D(x)^2`` is one (n,) vector updated per centre (no (n, k) buffer). Rows that
    coincide with a chosen centre have weight 0; once every row coincides with some centre (fewer
    than ``k`` distinct rows) the remaining centres are drawn uniformly, instead of failing on a
    zero total weight.
    """
    check_positive("k", k)
    x = x.float()
    n = x.shape[0]
    centres = x.new_empty(k, x.shape[1])
    first = torch.randint(n, (1,), generator=generator, device=generator.device).to(x.device)
    centres[0] = x[first[0]]
    squared_distance = (x - centres[0]).pow(2).sum(-1)  # (n,)
    uniform = torch.ones(n, device=x.device)
    for i in range(1, k):
        weights = squared_distance if bool(squared_distance.sum() > 0) else uniform
        choice = torch.multinomial(weights.to(generator.device), 1, generator=generator)
        centres[i] = x[choice.to(x.device)[0]]
        torch.minimum(squared_distance, (x - centres[i]).pow(2).sum(-1), out=squared_distance)
    return centres


@torch.no_grad()
def batched_kmeans_plus_plus(
    x: Tensor, k: int, generator: torch.Generator, rounds: int = 32
) -> Tensor:
    """``k`` centres drawn from the rows of ``x`` (n, d) by D^2 sampling in ``rounds`` batches.

    After a uniformly drawn first centre, each round draws ``ceil((k - 1) / rounds)`` rows at
    once, without replacement, with probability proportional to ``D(x)^2`` (the Gumbel-top-b
    trick: the b largest ``log D^2 + Gumbel noise``; Efraimidis & Spirakis, "Weighted random
    sampling with a reservoir", IPL 2006), then updates ``D(x)^2`` against the new centres with
    the blocked nearest-code search. The distance updates together cost one nearest-code pass
    over ``x`` with k centres, and no round syncs with the host.

    Deviation from k-means|| (Bahmani et al. 2012, Alg. 2): it oversamples ~l log(psi) candidates
    and reclusters them down to k; here exactly k are drawn and Lloyd's iterations do the rest
    (within 2 % of k-means++ + 10 Lloyd steps in quantization error: ``tests/test_kmeans.py``).
    Rows at distance 0 (chosen ones, duplicates) are not drawn again while others remain; with
    fewer than k distinct rows the rest are drawn uniformly.
    """
    check_positive("k", k)
    check_positive("rounds", rounds)
    x = x.float()
    n = x.shape[0]
    first = torch.randint(n, (1,), generator=generator, device=generator.device).to(x.device)
    chosen = [x[first]]
    squared_distance = (x - chosen[0]).pow(2).sum(-1)  # (n,)
    per_round = -(-(k - 1) // rounds)
    for start in range(1, k, per_round):
        count = min(per_round, k - start)
        total = squared_distance.sum()
        weights = torch.where(total > 0, squared_distance, torch.ones_like(squared_distance))
        noise = torch.rand(n, generator=generator, device=generator.device).to(x.device)
        gumbel = -torch.log(-torch.log(noise.clamp_min(1e-20)))
        keys = torch.log(weights) + gumbel  # -inf where the weight is 0
        new = x[torch.topk(keys, count).indices]  # (count, d)
        nearest = new[nearest_code(x, new)]
        torch.minimum(squared_distance, (x - nearest).pow(2).sum(-1), out=squared_distance)
        chosen.append(new)
    return torch.cat(chosen)


@torch.no_grad()
def lloyd(x: Tensor, centres: Tensor, iterations: int) -> tuple[Tensor, Tensor]:
    """``iterations`` Lloyd steps from ``centres`` (k, d) on ``x`` (n, d) -> (centres, counts).

    Assignment by the blocked nearest-code search (no (n, k) buffer beyond its block), sums by
    ``index_add_``; a centre that loses all its points keeps its position. ``counts`` (k,) are the
    cluster sizes of the final centres.
    """
    x = x.float()
    centres = centres.float().clone()
    k = centres.shape[0]
    for _ in range(iterations):
        assignment = nearest_code(x, centres)
        counts = code_histogram(assignment, k)
        sums = torch.zeros_like(centres).index_add_(0, assignment, x)
        occupied = counts > 0
        centres = torch.where(
            occupied.unsqueeze(1), sums / counts.clamp_min(1.0).unsqueeze(1), centres
        )
    counts = code_histogram(nearest_code(x, centres), k)
    return centres, counts


def kmeans(x: Tensor, k: int, iterations: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Batched D^2 seeding then ``iterations`` Lloyd steps: (k, d) centres and (k,) counts."""
    return lloyd(x, batched_kmeans_plus_plus(x, k, generator), iterations)


def quantization_error(x: Tensor, centres: Tensor) -> Tensor:
    """Mean squared distance of the rows of ``x`` to their nearest centre."""
    return (x - centres[nearest_code(x, centres)]).pow(2).sum(-1).mean()
