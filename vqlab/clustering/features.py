"""Group features by hierarchical clustering of their absolute correlations.

Agglomerative clustering (average linkage) of the D features under the distance
``1 - |corr(x_i, x_j)|`` estimated on samples x (n, D), cut into a given number of clusters: the
seed's static categorical assignment, and the initialisation of the learnable one. Constant
features (undefined correlation) are treated as uncorrelated with every other feature.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.cluster import AgglomerativeClustering
from torch import Tensor

from vqlab.errors import ConfigValueError


def correlation_distance(samples: Tensor) -> np.ndarray:
    """``1 - |corr|`` (D, D), float64, zero diagonal; samples (n, D)."""
    values = samples.detach().double().cpu().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.corrcoef(values, rowvar=False)
    correlation = np.nan_to_num(np.atleast_2d(correlation), nan=0.0)
    distance = np.clip(1.0 - np.abs(correlation), 0.0, 1.0)
    np.fill_diagonal(distance, 0.0)
    return distance


def correlation_clusters(samples: Tensor, num_clusters: int) -> Tensor:
    """Cluster label 0..num_clusters-1 of each feature, (D,) int64; samples (n, D), n >= 2."""
    num_features = samples.shape[1]
    if not 1 <= num_clusters <= num_features:
        raise ConfigValueError("num_categories", f"in [1, {num_features}] features", num_clusters)
    if num_clusters == 1:
        return torch.zeros(num_features, dtype=torch.long)
    clustering = AgglomerativeClustering(
        n_clusters=num_clusters, metric="precomputed", linkage="average"
    )
    return torch.from_numpy(clustering.fit_predict(correlation_distance(samples))).long()


def family_correlation_clusters(
    samples: Tensor, families: Tensor, category_owner: Tensor
) -> Tensor:
    """Category of each feature, clustering each family's features into its own categories.

    families: (D,) family of each feature; category_owner: (K,) family of each category.
    """
    labels = torch.empty(samples.shape[1], dtype=torch.long)
    for family in families.unique().tolist():
        features = (families == family).nonzero().squeeze(1)
        categories = (category_owner == family).nonzero().squeeze(1)
        local = correlation_clusters(samples[:, features], categories.numel())
        labels[features] = categories[local]
    return labels
