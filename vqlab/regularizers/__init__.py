"""Regularizers added to a model's loss: plain ``nn.Module``s, no Lightning import."""

from vqlab.regularizers.assignment import (
    AssignmentLosses,
    balance_loss,
    family_loss,
    orthogonality_loss,
)
from vqlab.regularizers.category_reconstruction import CategoryReconstruction
from vqlab.regularizers.entropy_scale import EntropyScale, intensity_entropy, reference_entropy
from vqlab.regularizers.hcvq import HCVQRegularizer, HCVQState

__all__ = [
    "AssignmentLosses",
    "CategoryReconstruction",
    "EntropyScale",
    "HCVQRegularizer",
    "HCVQState",
    "balance_loss",
    "family_loss",
    "intensity_entropy",
    "orthogonality_loss",
    "reference_entropy",
]
