"""The 1797 real 8x8 handwritten digits shipped inside scikit-learn (no download).

Alpaydin & Kaynak, "Optical Recognition of Handwritten Digits", UCI ML Repository, 1998;
``sklearn.datasets.load_digits``. Pixel values 0..16 are scaled to [-1, 1] (the Tanh decoder's
range).
"""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import Tensor

from vqlab.data.tensor_datamodule import TensorDataModule

DIGITS_SHAPE = (1, 8, 8)


class DigitsDataModule(TensorDataModule):
    """Digits as (n, 1, 8, 8) float images in [-1, 1]; splits by seed (see ``TensorDataModule``)."""

    def load(self) -> Tensor:
        images = torch.from_numpy(load_digits().images).float()  # (1797, 8, 8), values 0..16
        return (images / 8.0 - 1.0).reshape(-1, *DIGITS_SHAPE)
