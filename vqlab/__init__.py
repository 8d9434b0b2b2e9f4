"""vqlab: discrete-bottleneck autoencoders for PyTorch Lightning, composed by Hydra."""

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``vqlab.load_run`` without importing Lightning on ``import vqlab``."""
    if name == "load_run":
        from vqlab.runs.loading import load_run

        return load_run
    raise AttributeError(f"module 'vqlab' has no attribute {name!r}")
