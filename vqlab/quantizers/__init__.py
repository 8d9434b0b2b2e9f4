"""Codebook quantizers and feature selectors: plain ``nn.Module``s, usable without Lightning."""

from vqlab.quantizers.affine import AffineQuantizer
from vqlab.quantizers.annealable import Annealable
from vqlab.quantizers.assignment import SoftAssignment
from vqlab.quantizers.composite import CompositeQuantizer
from vqlab.quantizers.concrete import ConcreteSelector
from vqlab.quantizers.cosine import CosineQuantizer
from vqlab.quantizers.dimension_curriculum import DimensionCurriculumQuantizer
from vqlab.quantizers.ema import EMAQuantizer
from vqlab.quantizers.ema_accumulated import AccumulatedEMAQuantizer
from vqlab.quantizers.entropy_regularized import EntropyRegularizedQuantizer
from vqlab.quantizers.fsq import FSQQuantizer
from vqlab.quantizers.grouped import GroupedQuantizer
from vqlab.quantizers.growing import GrowingQuantizer
from vqlab.quantizers.indirect import IndirectLogits
from vqlab.quantizers.lfq import BSQQuantizer, LFQQuantizer
from vqlab.quantizers.orthogonal import OrthogonalRegularizedQuantizer
from vqlab.quantizers.output import QuantizerOutput
from vqlab.quantizers.projected import ProjectedQuantizer
from vqlab.quantizers.residual import ResidualQuantizer
from vqlab.quantizers.scalar import ScalarQuantizer
from vqlab.quantizers.simvq import SimVQQuantizer
from vqlab.quantizers.ste import STEQuantizer
from vqlab.quantizers.vector_quantizer import VectorQuantizer

__all__ = [
    "AccumulatedEMAQuantizer",
    "AffineQuantizer",
    "Annealable",
    "BSQQuantizer",
    "CompositeQuantizer",
    "ConcreteSelector",
    "CosineQuantizer",
    "DimensionCurriculumQuantizer",
    "EMAQuantizer",
    "EntropyRegularizedQuantizer",
    "FSQQuantizer",
    "GroupedQuantizer",
    "GrowingQuantizer",
    "IndirectLogits",
    "LFQQuantizer",
    "OrthogonalRegularizedQuantizer",
    "ProjectedQuantizer",
    "QuantizerOutput",
    "ResidualQuantizer",
    "STEQuantizer",
    "ScalarQuantizer",
    "SimVQQuantizer",
    "SoftAssignment",
    "VectorQuantizer",
]
