"""Codebook quantizers and feature selectors: plain ``nn.Module``s, usable without Lightning."""

from vqlab.quantizers.annealable import Annealable
from vqlab.quantizers.assignment import SoftAssignment
from vqlab.quantizers.concrete import ConcreteSelector
from vqlab.quantizers.ema import EMAQuantizer
from vqlab.quantizers.indirect import IndirectLogits
from vqlab.quantizers.output import QuantizerOutput
from vqlab.quantizers.ste import STEQuantizer
from vqlab.quantizers.vector_quantizer import VectorQuantizer

__all__ = [
    "Annealable",
    "ConcreteSelector",
    "EMAQuantizer",
    "IndirectLogits",
    "QuantizerOutput",
    "STEQuantizer",
    "SoftAssignment",
    "VectorQuantizer",
]
