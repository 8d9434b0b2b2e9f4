"""Gaussian vectors on a planted low-rank subspace: the linear VQ-VAE study's data, drawn exactly.

``x ~ N(0, Sigma)``, ``Sigma = U diag(lambda) U^T``, ``U`` (D, rank) the Q factor of the QR
decomposition of a standard Gaussian (D, rank) matrix, ``lambda = geomspace(eig_max, eig_min,
rank)``; no added noise, so every ``x`` lies in the span of ``U``. Everything is drawn in sequence
from one ``numpy.random.default_rng(seed)``: ``U``, then ``num_train`` training vectors, then
``num_eval`` evaluation vectors (``Generator.multivariate_normal``), the order of the study this
lab reproduces, so the same seed gives the same numbers. The evaluation set serves as both the
validation and the test split.
"""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Sampler, SequentialSampler

from vqlab.data.device_loader import DeviceBatchLoader
from vqlab.data.resumable import ResumableSampler
from vqlab.data.sampler import EpochSeededSampler
from vqlab.errors import ConfigValueError, check_positive


def planted_subspace_data(
    dim: int, rank: int, eig_max: float, eig_min: float, num_train: int, num_eval: int, seed: int
) -> tuple[Tensor, Tensor, Tensor]:
    """``(basis (D, rank), train (num_train, D), eval (num_eval, D))`` as float64 tensors."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(dim, rank)))
    eigenvalues = np.geomspace(eig_max, eig_min, rank)
    covariance = (basis * eigenvalues) @ basis.T
    mean = np.zeros(dim)
    train = rng.multivariate_normal(mean, covariance, size=num_train)
    evaluation = rng.multivariate_normal(mean, covariance, size=num_eval)
    return torch.from_numpy(basis), torch.from_numpy(train), torch.from_numpy(evaluation)


class GaussianSubspaceDataModule(L.LightningDataModule):
    """Serves ``(x,)`` float32 batches (b, dim) of the planted-subspace Gaussian above.

    Training batches: a fresh permutation per epoch (``EpochSeededSampler``, so a resumed run sees
    the same batches), cut by index from the in-memory tensor (no workers). ``basis`` (D, rank)
    holds the planted subspace after ``setup``.
    Deviation: the study draws each batch with replacement; here an epoch visits every row once
    (the same expected gradient, lower variance per epoch).
    """

    def __init__(
        self,
        dim: int = 64,
        rank: int = 6,
        eig_max: float = 4.0,
        eig_min: float = 0.25,
        num_train: int = 20000,
        num_eval: int = 4000,
        batch_size: int = 1024,
        seed: int = 42,
    ) -> None:
        super().__init__()
        for name, value in (
            ("dim", dim),
            ("eig_max", eig_max),
            ("eig_min", eig_min),
            ("num_train", num_train),
            ("num_eval", num_eval),
            ("batch_size", batch_size),
        ):
            check_positive(name, value)
        if not 0 < rank <= dim:
            raise ConfigValueError("rank", f"in [1, dim={dim}]", rank)
        self.dim = dim
        self.rank = rank
        self.eig_max = eig_max
        self.eig_min = eig_min
        self.num_train = num_train
        self.num_eval = num_eval
        self.batch_size = batch_size
        self.seed = seed
        self.basis: Tensor | None = None
        self.splits: dict[str, Tensor] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        basis, train, evaluation = planted_subspace_data(
            self.dim,
            self.rank,
            self.eig_max,
            self.eig_min,
            self.num_train,
            self.num_eval,
            self.seed,
        )
        self.basis = basis.float()
        self.splits = {"train": train.float(), "eval": evaluation.float()}

    def _sampler(self, order: Sampler[int]) -> ResumableSampler:
        """This rank's shard of ``order``, resumable mid-epoch (``vqlab.data.resumable``)."""
        if self.trainer is None:
            return ResumableSampler(order)
        return ResumableSampler(order, self.trainer.world_size, self.trainer.global_rank)

    def train_dataloader(self) -> DeviceBatchLoader:
        data = self.splits["train"]
        order = EpochSeededSampler(len(data), self.seed)
        return DeviceBatchLoader([data], self.batch_size, self._sampler(order))

    def _eval_loader(self) -> DeviceBatchLoader:
        data = self.splits["eval"]
        return DeviceBatchLoader([data], self.batch_size, self._sampler(SequentialSampler(data)))

    def val_dataloader(self) -> DeviceBatchLoader:
        return self._eval_loader()

    def test_dataloader(self) -> DeviceBatchLoader:
        return self._eval_loader()
