"""LightningDataModules. Batches are tuples whose first element is the input."""

from vqlab.data.digits import DigitsDataModule
from vqlab.data.lowrank import LowRankDataModule
from vqlab.data.tensor_datamodule import TensorDataModule

__all__ = ["DigitsDataModule", "LowRankDataModule", "TensorDataModule"]
