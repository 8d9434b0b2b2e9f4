"""Deterministic train / val / test split of a dataset's indices."""

from __future__ import annotations

import torch
from torch import Tensor

from vqlab.errors import ConfigValueError


def split_indices(
    num_samples: int, val_fraction: float, test_fraction: float, seed: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Shuffle ``range(num_samples)`` with ``seed`` and cut it into train, val and test indices.

    val and test get ``round(fraction * num_samples)`` samples each (at least one when the fraction
    is positive); train keeps the rest and must not be empty.
    """
    for name, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= fraction < 1.0:
            raise ConfigValueError(name, "in [0, 1)", fraction)
    num_val = max(round(val_fraction * num_samples), int(val_fraction > 0))
    num_test = max(round(test_fraction * num_samples), int(test_fraction > 0))
    if num_val + num_test >= num_samples:
        raise ConfigValueError(
            "val_fraction", "small enough to leave training samples", val_fraction
        )
    order = torch.randperm(num_samples, generator=torch.Generator().manual_seed(seed))
    return order[num_val + num_test :], order[:num_val], order[num_val : num_val + num_test]
