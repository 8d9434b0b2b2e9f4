"""Callbacks for behaviour that depends on training time or cuts across modules."""

from vqlab.callbacks.finite_loss import FiniteLossGuard
from vqlab.callbacks.homology import HomologyRegularization
from vqlab.callbacks.recon_images import ReconstructionGrid

__all__ = ["FiniteLossGuard", "HomologyRegularization", "ReconstructionGrid"]
