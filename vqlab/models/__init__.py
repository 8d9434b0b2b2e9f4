"""LightningModules: the VQ-VAE, and one module per variant whose training differs."""

from vqlab.models.cae import ConcreteAutoencoder
from vqlab.models.hcvq import HCVQ
from vqlab.models.learnable_vq import LearnableVQVAE
from vqlab.models.linear_vq import KMeansStart, LinearVQ
from vqlab.models.linear_vq_variants import ManualGradientLinearVQ, PCALloydVQ
from vqlab.models.vqvae import VQVAE
from vqlab.models.vqvae2 import VQVAE2

__all__ = [
    "HCVQ",
    "VQVAE",
    "VQVAE2",
    "ConcreteAutoencoder",
    "KMeansStart",
    "LearnableVQVAE",
    "LinearVQ",
    "ManualGradientLinearVQ",
    "PCALloydVQ",
]
