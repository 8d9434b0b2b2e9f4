"""Encoders and decoders. Encoders return channels-last latents ``(b, ..., d)``."""

from vqlab.nets.category_encoders import CategoryEncoders, route
from vqlab.nets.conv import ConvDecoder, ConvEncoder
from vqlab.nets.mlp import MLPDecoder, MLPEncoder

__all__ = ["CategoryEncoders", "ConvDecoder", "ConvEncoder", "MLPDecoder", "MLPEncoder", "route"]
