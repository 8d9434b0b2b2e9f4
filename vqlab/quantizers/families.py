"""Feature families: which categories a feature may be assigned to (a block-diagonal mask)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from vqlab.errors import ConfigValueError


def split_categories(num_categories: int, num_families: int) -> list[int]:
    """``num_categories`` split as evenly as possible, the first families getting the remainder."""
    base, remainder = divmod(num_categories, num_families)
    return [base + int(family < remainder) for family in range(num_families)]


def category_families(
    families: Sequence[int], num_categories: int, family_categories: Sequence[int] | None
) -> Tensor:
    """The family owning each category, (K,) int64; family f owns a contiguous block of them.

    ``families`` labels each feature with its family 0..F-1 (every label used). Every family
    needs at least one category and no more categories than it has features (a category no
    feature can fill); ``family_categories`` (length F, summing to K) fixes the blocks, else K is
    split evenly.
    """
    labels = torch.as_tensor(list(families), dtype=torch.long)
    num_families = int(labels.max()) + 1 if labels.numel() else 0
    if labels.numel() == 0 or labels.min() < 0 or labels.unique().numel() != num_families:
        raise ConfigValueError(
            "families", "labels 0..F-1 (each used by at least one feature)", sorted(set(families))
        )
    sizes = torch.bincount(labels, minlength=num_families).tolist()
    if family_categories is None:
        if num_categories < num_families:
            raise ConfigValueError(
                "num_categories", f">= the number of families ({num_families})", num_categories
            )
        family_categories = split_categories(num_categories, num_families)
    counts = list(family_categories)
    if len(counts) != num_families or sum(counts) != num_categories:
        raise ConfigValueError(
            "family_categories",
            f"{num_families} category counts (one per family) summing to {num_categories}",
            counts,
        )
    for family, (count, size) in enumerate(zip(counts, sizes, strict=True)):
        if not 1 <= count <= size:
            raise ConfigValueError(
                "family_categories",
                f"in [1, features of the family] for every family (family {family} has {size} "
                "features)",
                counts,
            )
    return torch.repeat_interleave(torch.arange(num_families), torch.tensor(counts))


def block_mask(families: Tensor, owners: Tensor) -> Tensor:
    """``M_dk = [family(d) == owner(k)]``, (D, K) bool: block-diagonal up to a feature order.

    families: (D,) family of each feature; owners: (K,) family owning each category.
    """
    return families.unsqueeze(1) == owners.unsqueeze(0)
