"""k-means++ seeding and Lloyd iterations: a codebook fitted to a point cloud without gradients.

Lloyd, "Least squares quantization in PCM", IEEE Trans. Inf. Theory 28(2), 1982 (alternate the
nearest-centre assignment and the centroid update); Arthur & Vassilvitskii, "k-means++: The
Advantages of Careful Seeding", SODA 2007 (each new centre drawn with probability proportional
to the squared distance to the nearest centre chosen so far).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from vqlab.errors import ConfigValueError, check_non_negative, check_positive
from vqlab.functional import code_histogram


def kmeans_plus_plus(points: Tensor, count: int, seed: int) -> Tensor:
    """``count`` centres (count, d) drawn from ``points`` (n, d) by k-means++ seeding.

    The draws come from ``numpy.random.default_rng(seed)``: the first centre uniformly, each next
    one with probability ``d2_i / sum d2`` (``d2_i``: squared distance to the nearest centre).
    """
    check_positive("codebook_size", count)
    if count > points.shape[0]:
        raise ConfigValueError("codebook_size", f"<= the {points.shape[0]} points", count)
    rng = np.random.default_rng(seed)
    points = points.double()
    chosen = [int(rng.integers(0, points.shape[0]))]
    d2 = (points - points[chosen[0]]).pow(2).sum(-1)
    for _ in range(1, count):
        probabilities = (d2 / d2.sum().clamp_min(1e-12)).cpu().numpy()
        chosen.append(int(rng.choice(points.shape[0], p=probabilities)))
        d2 = torch.minimum(d2, (points - points[chosen[-1]]).pow(2).sum(-1))
    return points[chosen].clone()


def lloyd(points: Tensor, centres: Tensor, iterations: int) -> Tensor:
    """``iterations`` Lloyd steps from ``centres`` (k, d) on ``points`` (n, d) -> new centres.

    Each step assigns every point to its nearest centre and moves each centre to the mean of its
    points; a centre with no points stays where it is. Computed in the dtype of ``points``.
    """
    check_non_negative("lloyd_iterations", iterations)
    centres = centres.to(points).clone()
    for _ in range(iterations):
        # argmin_j |c_j|^2 - 2 p . c_j, in the points' dtype (float64 for the seed's baseline)
        indices = (centres.pow(2).sum(-1) - 2 * points @ centres.t()).argmin(-1)
        counts = code_histogram(indices, centres.shape[0]).to(points)
        sums = torch.zeros_like(centres).index_add_(0, indices, points)
        occupied = counts > 0
        centres[occupied] = sums[occupied] / counts[occupied, None]
    return centres
