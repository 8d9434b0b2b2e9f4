"""vqlab: discrete-bottleneck autoencoders for PyTorch Lightning, composed by Hydra."""

__version__ = "0.1.0"
