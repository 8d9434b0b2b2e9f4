"""Encoders and decoders. Encoders return channels-last latents ``(b, ..., d)``."""

from vqlab.nets.category_encoders import CategoryEncoders, route
from vqlab.nets.conv import ConvDecoder, ConvEncoder
from vqlab.nets.hierarchical import TwoLevelConvDecoder, TwoLevelConvEncoder
from vqlab.nets.mlp import MLPDecoder, MLPEncoder
from vqlab.nets.stiefel import StiefelLinearEncoder, TiedLinearDecoder

__all__ = [
    "CategoryEncoders",
    "ConvDecoder",
    "ConvEncoder",
    "MLPDecoder",
    "MLPEncoder",
    "StiefelLinearEncoder",
    "TiedLinearDecoder",
    "TwoLevelConvDecoder",
    "TwoLevelConvEncoder",
    "route",
]
