"""k-means++ seeding with numpy's generator: the linear VQ study's draws, for its exact numbers.

Arthur & Vassilvitskii, "k-means++: The Advantages of Careful Seeding", SODA 2007: the first
centre uniformly, each next one with probability proportional to the squared distance to the
nearest centre chosen so far. ``vqlab.clustering.kmeans.kmeans_plus_plus`` is the same seeding with
torch's generator (on the training device); this one draws from ``numpy.random.default_rng(seed)``
(``integers`` for the first centre, ``choice(p=...)`` for the others), as the study this lab
reproduces does, so that ``LinearVQ`` starts from the study's codebook and its baseline equals the
study's to the printed digit. Lloyd's iterations are ``vqlab.clustering.kmeans.lloyd``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from vqlab.errors import ConfigValueError, check_positive


@torch.no_grad()
def numpy_kmeans_plus_plus(points: Tensor, count: int, seed: int) -> Tensor:
    """``count`` centres (count, d) drawn from the rows of ``points`` (n, d), in float64."""
    check_positive("codebook_size", count)
    if count > points.shape[0]:
        raise ConfigValueError(
            "codebook_size", f"<= the {points.shape[0]} rows k-means sees", count
        )
    rng = np.random.default_rng(seed)
    points = points.double()
    chosen = [int(rng.integers(0, points.shape[0]))]
    squared_distance = (points - points[chosen[0]]).pow(2).sum(-1)  # (n,)
    for _ in range(1, count):
        probabilities = squared_distance / squared_distance.sum().clamp_min(1e-12)
        chosen.append(int(rng.choice(points.shape[0], p=probabilities.cpu().numpy())))
        nearest = (points - points[chosen[-1]]).pow(2).sum(-1)
        squared_distance = torch.minimum(squared_distance, nearest)
    return points[chosen].clone()
