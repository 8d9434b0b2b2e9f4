"""The one return type of every codebook quantizer."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor


@dataclass
class QuantizerOutput:
    """What a codebook quantizer returns for encoder outputs ``z`` of shape ``(..., d)``."""

    quantized: Tensor  # (..., d) codebook vectors, straight-through gradient to z
    indices: Tensor  # (...,) int64 code indices
    loss: Tensor  # scalar, already weighted
    counts: Tensor  # (K,) float32 code histogram of this batch on this rank, detached
    # named parts of ``loss`` worth their own curve (``entropy_loss``), logged as codebook/<name>
    terms: dict[str, Tensor] = field(default_factory=dict)
