"""LightningModules: the VQ-VAE, and one module per variant whose training differs."""

from vqlab.models.cae import ConcreteAutoencoder
from vqlab.models.hcvq import HCVQ
from vqlab.models.learnable_vq import LearnableVQVAE
from vqlab.models.vqvae import VQVAE

__all__ = ["HCVQ", "VQVAE", "ConcreteAutoencoder", "LearnableVQVAE"]
