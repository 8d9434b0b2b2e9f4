"""Synthetic vectors whose D features fall into K planted groups (optionally into families).

Group g (features S_g, |S_g| = D / K up to 1) is driven by its own ``factors`` latent factors:
``x[S_g] = c_g W_g + noise * n``, ``c_g ~ N(0, I_factors)``, ``W_g`` (factors, |S_g|) with
``N(0, 1)`` entries, ``n ~ N(0, I)``; then every feature is standardised. Features of one group
are correlated, features of different groups independent, and the feature order is shuffled, so
the groups are only visible in the data. With ``num_families`` F, groups are dealt to families
(group g -> family g mod F) and ``families`` labels each feature. The ground truth (``groups``,
``families``) is exposed for scoring a learned assignment (e.g. by the adjusted Rand index).
"""

from __future__ import annotations

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
            loadings = torch.randn(self.factors, members.numel(), generator=generator)
            data[:, members] += factors @ loadings
        return (data - data.mean(0)) / data.std(0)
