"""Differentiable Vietoris-Rips persistence of a point cloud and the HC-VQ homology signature.

torch + giotto-ph only (no Lightning). ``vietoris_rips_diagrams(points)`` is the one-shot API;
``ReusablePairing`` keeps the pairing across training steps (see :mod:`vqlab.topology.reusable`).
"""

from vqlab.topology.figure import persistence_diagram_figure
from vqlab.topology.paired_loss import PairedHomologyLoss, PairedLoss, paired_homology_loss
from vqlab.topology.pairing import (
    Pairing,
    pairing_stability,
    require_giotto_ph,
    vietoris_rips_diagrams,
)
from vqlab.topology.reusable import ReusablePairing
from vqlab.topology.signature import (
    HomologyLoss,
    mean_h0_death,
    persistent_entropy,
    soft_betti1,
)

__all__ = [
    "HomologyLoss",
    "PairedHomologyLoss",
    "PairedLoss",
    "Pairing",
    "ReusablePairing",
    "mean_h0_death",
    "paired_homology_loss",
    "pairing_stability",
    "persistence_diagram_figure",
    "persistent_entropy",
    "require_giotto_ph",
    "soft_betti1",
    "vietoris_rips_diagrams",
]
