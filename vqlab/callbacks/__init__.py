"""Callbacks for behaviour that depends on training time or cuts across modules."""

from vqlab.callbacks.assignment_images import AssignmentImages
from vqlab.callbacks.assignment_init import ClusteringInit
from vqlab.callbacks.assignment_search import AssignmentSearchInit
from vqlab.callbacks.codebook_figures import CodebookFigures
from vqlab.callbacks.convergence import StopOnConvergence
from vqlab.callbacks.dimension_curriculum import DimensionCurriculum
from vqlab.callbacks.finite_loss import FiniteLossGuard
from vqlab.callbacks.growth import CodebookGrowth
from vqlab.callbacks.homology import HomologyRegularization
from vqlab.callbacks.kmeans_init import KMeansInit
from vqlab.callbacks.linear_vq_start import LinearVQStart
from vqlab.callbacks.online_reinit import OnlineClusteredReinit
from vqlab.callbacks.recon_images import ReconstructionGrid
from vqlab.callbacks.respawn import DeadCodeRespawn
from vqlab.callbacks.selection_images import SelectedPixelsGrid
from vqlab.callbacks.temperature import TemperatureAnnealing

__all__ = [
    "AssignmentImages",
    "AssignmentSearchInit",
    "ClusteringInit",
    "CodebookFigures",
    "CodebookGrowth",
    "DeadCodeRespawn",
    "DimensionCurriculum",
    "FiniteLossGuard",
    "HomologyRegularization",
    "KMeansInit",
    "LinearVQStart",
    "OnlineClusteredReinit",
    "ReconstructionGrid",
    "SelectedPixelsGrid",
    "StopOnConvergence",
    "TemperatureAnnealing",
]
