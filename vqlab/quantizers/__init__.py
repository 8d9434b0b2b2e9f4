"""Codebook quantizers: plain ``nn.Module``s, usable without Lightning."""

from vqlab.quantizers.ema import EMAQuantizer
from vqlab.quantizers.output import QuantizerOutput
from vqlab.quantizers.ste import STEQuantizer
from vqlab.quantizers.vector_quantizer import VectorQuantizer

__all__ = ["EMAQuantizer", "QuantizerOutput", "STEQuantizer", "VectorQuantizer"]
