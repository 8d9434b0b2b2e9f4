"""Encoders and decoders. Encoders return channels-last latents ``(b, ..., d)``."""

from vqlab.nets.conv import ConvDecoder, ConvEncoder
from vqlab.nets.hierarchical import TwoLevelConvDecoder, TwoLevelConvEncoder
from vqlab.nets.mlp import MLPDecoder, MLPEncoder
from vqlab.nets.stiefel import StiefelLinearEncoder, TiedLinearDecoder

__all__ = [
    "ConvDecoder",
    "ConvEncoder",
    "MLPDecoder",
    "MLPEncoder",
    "StiefelLinearEncoder",
    "TiedLinearDecoder",
    "TwoLevelConvDecoder",
    "TwoLevelConvEncoder",
]
