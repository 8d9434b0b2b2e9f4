"""Regularizers added to a model's loss: plain ``nn.Module``s, no Lightning import."""

from vqlab.regularizers.entropy_scale import EntropyScale, intensity_entropy, reference_entropy
from vqlab.regularizers.hcvq import HCVQRegularizer, HCVQState

__all__ = [
    "EntropyScale",
    "HCVQRegularizer",
    "HCVQState",
    "intensity_entropy",
    "reference_entropy",
]
