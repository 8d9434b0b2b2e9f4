"""Encoders and decoders. Encoders return channels-last latents ``(b, ..., d)``."""

from vqlab.nets.conv import ConvDecoder, ConvEncoder
from vqlab.nets.hierarchical import TwoLevelConvDecoder, TwoLevelConvEncoder
from vqlab.nets.mlp import MLPDecoder, MLPEncoder

__all__ = [
    "ConvDecoder",
    "ConvEncoder",
    "MLPDecoder",
    "MLPEncoder",
    "TwoLevelConvDecoder",
    "TwoLevelConvEncoder",
]
