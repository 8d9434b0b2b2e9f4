"""LightningDataModules. Batches are tuples whose first element is the input."""

from vqlab.data.celeba import CelebADataModule
from vqlab.data.digits import DigitsDataModule
from vqlab.data.gaussian_subspace import GaussianSubspaceDataModule
from vqlab.data.grouped_features import GroupedFeaturesDataModule
from vqlab.data.image_datamodule import ImageDataModule
from vqlab.data.image_folder import ImageFolderDataModule
from vqlab.data.lowrank import LowRankDataModule
from vqlab.data.photos import PhotosDataModule
from vqlab.data.tabular import TabularDataModule
from vqlab.data.tensor_datamodule import TensorDataModule
from vqlab.data.torchvision_sets import (
    CIFAR10DataModule,
    FashionMNISTDataModule,
    MNISTDataModule,
)

__all__ = [
    "CIFAR10DataModule",
    "CelebADataModule",
    "DigitsDataModule",
    "FashionMNISTDataModule",
    "GaussianSubspaceDataModule",
    "GroupedFeaturesDataModule",
    "ImageDataModule",
    "ImageFolderDataModule",
    "LowRankDataModule",
    "MNISTDataModule",
    "PhotosDataModule",
    "TabularDataModule",
    "TensorDataModule",
]
