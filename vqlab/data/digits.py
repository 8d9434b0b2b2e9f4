"""The 1797 real 8x8 handwritten digits shipped inside scikit-learn (no download).

Alpaydin & Kaynak, "Optical Recognition of Handwritten Digits", UCI ML Repository, 1998;
``sklearn.datasets.load_digits``. Pixel values 0..16 are scaled to ``value_range`` ([-1, 1], the
Tanh decoder's range, by default).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from sklearn.datasets import load_digits
from torch import Tensor

from vqlab.data.image_datamodule import check_value_range
from vqlab.data.tensor_datamodule import TensorDataModule

DIGITS_SHAPE = (1, 8, 8)


class DigitsDataModule(TensorDataModule):
    """Digits as (n, 1, 8, 8) float images in ``value_range``; splits by seed (see
    ``TensorDataModule``)."""

    def __init__(
        self,
        batch_size: int = 64,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        num_workers: int = 0,
        seed: int = 0,
        value_range: Sequence[float] = (-1.0, 1.0),
    ) -> None:
        super().__init__(batch_size, val_fraction, test_fraction, num_workers, seed)
        self.value_range = check_value_range(value_range)

    def load(self) -> Tensor:
        images = torch.from_numpy(load_digits().images).float()  # (1797, 8, 8), values 0..16
        low, high = self.value_range
        return (low + images / 16.0 * (high - low)).reshape(-1, *DIGITS_SHAPE)
