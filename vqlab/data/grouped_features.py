"""Synthetic vectors whose D features fall into K planted groups (optionally into families).

Group g (features S_g, |S_g| = D / K up to 1) is driven by its own ``factors`` latent factors:
``x[S_g] = c_g W_g + noise * n``, ``c_g ~ N(0, I_factors)``, ``W_g`` (factors, |S_g|) with
``N(0, 1)`` entries, ``n ~ N(0, I)``; then every feature is standardised. Features of one group
are correlated, features of different groups independent, and the feature order is shuffled, so
the groups are only visible in the data. With ``num_families`` F, groups are dealt to families
(group g -> family g mod F) and ``families`` labels each feature. The ground truth (``groups``,
``families``) is exposed for scoring a learned assignment (e.g. by the adjusted Rand index).

``nonlinear=True`` plants groups that correlation cannot see: member j of group g is
``x_j = prod_i He_{m_ji}(c_gi)`` for its own multi-index ``m_j`` of total degree >= 2 (``He``: the
probabilists' Hermite polynomials ``He_1 = t``, ``He_2 = t^2 - 1``, ``He_3 = t^3 - 3t``, ...;
members take the multi-indices in order of degree: ``c_1^2 - 1``, ``c_1 c_2``, ``c_2^2 - 1``,
``c_1^3 - 3 c_1``, ...), plus the noise, then standardised. Products of Hermite polynomials of
independent standard normals are orthogonal (``E[He_m(c) He_n(c)] = m! [m = n]``), so the
members of a group are pairwise uncorrelated, exactly in expectation, although they are functions
of the same ``factors`` numbers: a clustering of ``|correlation|`` sees no groups at all.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor

from vqlab.data.tensor_datamodule import TensorDataModule
from vqlab.errors import ConfigValueError, check_non_negative, check_positive


class GroupedFeaturesDataModule(TensorDataModule):
    """``num_samples`` vectors (n, num_features) with ``num_groups`` planted feature groups."""

    def __init__(
        self,
        num_features: int = 48,
        num_groups: int = 6,
        factors: int = 2,
        noise: float = 0.3,
        num_families: int | None = None,
        num_samples: int = 8000,
        batch_size: int = 128,
        seed: int = 0,
        nonlinear: bool = False,
    ) -> None:
        super().__init__(batch_size, 0.1, 0.1, num_workers=0, seed=seed)
        check_positive("num_features", num_features)
        check_positive("factors", factors)
        check_non_negative("noise", noise)
        check_positive("num_samples", num_samples)
        if not 1 <= num_groups <= num_features:
            raise ConfigValueError("num_groups", f"in [1, num_features={num_features}]", num_groups)
        if num_families is not None and not 1 <= num_families <= num_groups:
            raise ConfigValueError(
                "num_families", f"null or in [1, num_groups={num_groups}]", num_families
            )
        self.num_features = num_features
        self.num_groups = num_groups
        self.factors = factors
        self.noise = noise
        self.num_families = num_families
        self.num_samples = num_samples
        self.nonlinear = nonlinear
        largest = math.ceil(num_features / num_groups)
        self.multi_indices = hermite_multi_indices(factors, largest) if nonlinear else None
        generator = torch.Generator().manual_seed(seed)
        order = torch.randperm(num_features, generator=generator)
        self.groups = torch.empty(num_features, dtype=torch.long)  # (D,) planted group
        self.groups[order] = torch.arange(num_features) % num_groups
        family_of_group = torch.arange(num_groups) % (num_families or 1)
        self.families = family_of_group[self.groups]  # (D,) family of each feature
        self.generator_seed = int(torch.randint(2**31, (1,), generator=generator))

    def load(self) -> Tensor:
        generator = torch.Generator().manual_seed(self.generator_seed)
        data = self.noise * torch.randn(self.num_samples, self.num_features, generator=generator)
        for group in range(self.num_groups):
            members = (self.groups == group).nonzero().squeeze(1)
            factors = torch.randn(self.num_samples, self.factors, generator=generator)
            if self.multi_indices is None:
                loadings = torch.randn(self.factors, members.numel(), generator=generator)
                data[:, members] += factors @ loadings
            else:
                for member, index in zip(members.tolist(), self.multi_indices, strict=False):
                    data[:, member] += hermite_product(factors, index)
        return (data - data.mean(0)) / data.std(0)


def hermite_multi_indices(factors: int, count: int) -> list[tuple[int, ...]]:
    """The first ``count`` multi-indices over ``factors`` numbers, by total degree from 2.

    Within a degree, in decreasing lexicographic order (``(2, 0), (1, 1), (0, 2), (3, 0), ...``).
    """
    indices: list[tuple[int, ...]] = []
    degree = 2
    while len(indices) < count:
        for index in sorted(itertools.product(range(degree + 1), repeat=factors), reverse=True):
            if sum(index) == degree and len(indices) < count:
                indices.append(index)
        degree += 1
    return indices


def hermite(values: Tensor, order: int) -> Tensor:
    """``He_order(t)`` by ``He_{n+1} = t He_n - n He_{n-1}``, ``He_0 = 1``, ``He_1 = t``."""
    previous, current = torch.ones_like(values), values
    if order == 0:
        return previous
    for n in range(1, order):
        previous, current = current, values * current - n * previous
    return current


def hermite_product(factors: Tensor, index: tuple[int, ...]) -> Tensor:
    """``prod_i He_{index_i}(factors[:, i])``: factors (n, f) -> (n,)."""
    result = torch.ones(factors.shape[0])
    for column, order in enumerate(index):
        result = result * hermite(factors[:, column], order)
    return result
