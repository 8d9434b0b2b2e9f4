"""Synthetic low-rank Gaussian vectors, the linear VQ-VAE testbed.

``x = U c + noise * n``, ``U`` a random (D, rank) matrix with orthonormal columns,
``c ~ N(0, I_rank)``, ``n ~ N(0, I_D)``: data near a rank-dimensional subspace of R^D
(``seeds/002``: D = 64, rank = 6).
"""

from __future__ import annotations

import torch
from torch import Tensor

from vqlab.data.tensor_datamodule import TensorDataModule
from vqlab.errors import ConfigValueError, check_non_negative, check_positive


class LowRankDataModule(TensorDataModule):
    """``num_samples`` vectors of dimension ``dim`` near a random ``rank``-dim subspace."""

    def __init__(
        self,
        dim: int = 64,
        rank: int = 6,
        noise: float = 0.1,
        num_samples: int = 24000,
        batch_size: int = 256,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size, val_fraction, test_fraction, num_workers=0, seed=seed)
        check_positive("dim", dim)
        check_positive("num_samples", num_samples)
        check_non_negative("noise", noise)
        if not 0 < rank <= dim:
            raise ConfigValueError("rank", f"in [1, dim={dim}]", rank)
        self.dim = dim
        self.rank = rank
        self.noise = noise
        self.num_samples = num_samples

    def load(self) -> Tensor:
        generator = torch.Generator().manual_seed(self.seed)
        basis, _ = torch.linalg.qr(torch.randn(self.dim, self.rank, generator=generator))
        coefficients = torch.randn(self.num_samples, self.rank, generator=generator)
        noise = torch.randn(self.num_samples, self.dim, generator=generator)
        return coefficients @ basis.T + self.noise * noise
