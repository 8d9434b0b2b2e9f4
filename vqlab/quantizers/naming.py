"""The names a person reads for each codebook of a model: ``top``, ``stage_1``, ``group_0``, ...

A model names its top-level quantizers (``VQVAE``: one, unnamed; ``VQVAE2``: ``top`` and
``bottom``; ``LearnableVQVAE``: ``category_<k>``); a composite quantizer names its children
``<part_name>_<i>`` (``group_<i>``, ``stage_<i>``), or passes its one child's name through when it
only wraps it (a projection, a regularizer, growth). Names join with ``/``. Metrics of a codebook
are ``codebook/<name>/<metric>`` (``val/<name>/<metric>``); a model with a single codebook keeps
``codebook/<metric>``.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import nn

from vqlab.quantizers.composite import CompositeQuantizer
from vqlab.quantizers.scalar import ScalarQuantizer
from vqlab.quantizers.vector_quantizer import VectorQuantizer

# what gives a code histogram: a learned codebook or an implied one (FSQ, LFQ: a grid)
HistogramQuantizer = VectorQuantizer | ScalarQuantizer


def join_names(*names: str) -> str:
    """``"top"``, ``"stage_1"`` -> ``"top/stage_1"``; empty names drop out."""
    return "/".join(name for name in names if name)


def leaf_codebooks(named: Mapping[str, nn.Module]) -> dict[str, VectorQuantizer]:
    """Every learned codebook (a ``VectorQuantizer`` holding no other) under ``named``, by display
    name: what codebook callbacks (k-means init, respawn) can move. ``histogram_leaves`` minus
    the implied codebooks."""
    return {
        name: module
        for name, module in histogram_leaves(named).items()
        if isinstance(module, VectorQuantizer)
    }


def histogram_leaves(named: Mapping[str, nn.Module]) -> dict[str, HistogramQuantizer]:
    """Every quantizer whose histogram is one part of ``counts`` (a ``VectorQuantizer`` holding no
    other, or a ``ScalarQuantizer``'s implied codebook) under ``named``, by display name, in the
    order their histograms are concatenated in ``counts``.

    ``named`` maps names to quantizers; any other module is searched child by child, its
    attribute names becoming the names (a user's own model).
    """
    leaves: dict[str, HistogramQuantizer] = {}
    for name, module in named.items():
        if isinstance(module, ScalarQuantizer) or (
            isinstance(module, VectorQuantizer)
            and not any(isinstance(inner, VectorQuantizer) for inner in list(module.modules())[1:])
        ):
            leaves[name] = module
        elif isinstance(module, CompositeQuantizer):
            children = {
                join_names(name, f"{module.part_name}_{i}" if module.part_name else ""): child
                for i, child in enumerate(module.quantizers)
            }
            leaves |= histogram_leaves(children)
        else:
            leaves |= histogram_leaves(
                {
                    join_names(name, child_name): child
                    for child_name, child in module.named_children()
                }
            )
    return leaves


def codebook_metric(name: str, metric: str, prefix: str = "codebook") -> str:
    """``codebook/<metric>`` for the unnamed (only) codebook, ``codebook/<name>/<metric>`` else."""
    return join_names(prefix, name, metric)
