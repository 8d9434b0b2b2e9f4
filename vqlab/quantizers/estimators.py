"""Gradient estimators through the nearest-code lookup, chosen by name in a quantizer's config.

- ``ste``: straight-through, ``z_q := z_e + sg[z_q - z_e]`` (Bengio et al. 2013, arXiv:1308.3432;
  van den Oord et al. 2017, arXiv:1711.00937, Sec. 3.2);
- ``rotation``: the rotation trick, ``z_q := sg[lambda R] z_e`` with ``R`` the rotation taking
  ``z_e / |z_e|`` to ``z_q / |z_q|`` and ``lambda = |z_q| / |z_e|`` (Fifty et al., "Restructuring
  Vector Quantization with the Rotation Trick", 2024, arXiv:2410.06424, Sec. 4.2);
- ``displacement``: the gradient to ``z_e`` projected on the unit displacement towards ``z_q``
  (``vqlab.functional.displacement_projection``; what the linear VQ study calls "rotation").
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from vqlab.errors import ConfigValueError
from vqlab.functional import displacement_projection, rotation_trick, straight_through

GradientEstimator = Callable[[Tensor, Tensor], Tensor]
GRADIENT_ESTIMATORS: dict[str, GradientEstimator] = {
    "ste": straight_through,
    "rotation": rotation_trick,
    "displacement": displacement_projection,
}


def resolve_estimator(name: str) -> GradientEstimator:
    """The estimator called ``name``; ``ConfigValueError`` naming ``estimator`` if unknown."""
    if name not in GRADIENT_ESTIMATORS:
        raise ConfigValueError("estimator", f"one of {', '.join(GRADIENT_ESTIMATORS)}", name)
    return GRADIENT_ESTIMATORS[name]
