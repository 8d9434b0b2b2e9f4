"""Differentiable Vietoris-Rips persistence (H0, H1) of a point cloud.

The persistence pairing is a combinatorial choice: giotto-ph (Pérez et al., "giotto-ph: A Python
Library for High-Performance Computation of Persistent Homology of Vietoris-Rips Filtrations",
2021, arXiv:2107.05412) computes it on a detached copy of the distances, with generators. Every
finite bar is then the length of one or two edges of the cloud,

    H0 bar i: (0, ||x_a - x_b||)                    for giotto-ph's gens[0] row [v, a, b],
    H1 bar i: (||x_a - x_b||, ||x_c - x_d||)        for giotto-ph's gens[1][0] row [a, b, c, d],

and those lengths are recomputed in torch, so the diagram is differentiable w.r.t. the points
wherever the pairing is locally constant (Moor et al., "Topological Autoencoders", 2020,
arXiv:1906.00722, Sec. 3; the HC-VQ reference does it through torch-topological). Essential
(infinite) features (gens[2], gens[3]) are dropped, and giotto-ph drops zero-length bars (duplicate
points), so a cloud of n points has at most, not exactly, n - 1 finite H0 bars.

Deviation: the reference builds the full differentiable (n, n) distance matrix and gathers from it;
here only the O(n) edges of the pairing are measured in torch (the same values, far less memory and
work). The pairing itself is chosen from float64 distances cast to float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np
import torch
from scipy.spatial.distance import pdist, squareform
from torch import Tensor

PairingArrays = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(h0_death, h1_birth, h1_death) edge arrays of shape (m, 2), int64: picklable, torch-free."""

GIOTTO_MISSING = (
    "HC-VQ needs giotto-ph (AGPL-3.0, an optional extra of MIT-licensed vqlab): "
    "pip install 'vqlab[topology]'"
)


def require_giotto_ph() -> ModuleType:
    """The ``gph`` module, or an ImportError that says how to install it (one line on the CLI).

    giotto-ph is imported lazily so that ``vqlab.topology`` (and every model) imports without it.
    """
    try:
        import gph
    except ImportError as error:
        raise ImportError(GIOTTO_MISSING) from error
    return gph


def pairing_arrays(points: np.ndarray) -> PairingArrays:
    """giotto-ph's H0/H1 pairing of ``points`` (n, d) as edge arrays; runs in worker processes."""
    distances = squareform(pdist(np.asarray(points, dtype=np.float64))).astype(np.float32)
    result = require_giotto_ph().ripser_parallel(
        distances, metric="precomputed", maxdim=1, return_generators=True
    )
    h0_gens, h1_gens = result["gens"][0], result["gens"][1][0]
    # Edges as (min, max) so that the same pair always has the same key (see pairing_stability).
    return (
        np.sort(h0_gens[:, 1:3], axis=1).astype(np.int64),
        np.sort(h1_gens[:, 0:2], axis=1).astype(np.int64),
        np.sort(h1_gens[:, 2:4], axis=1).astype(np.int64),
    )


def edge_lengths(points: Tensor, edges: Tensor) -> Tensor:
    """``||x_a - x_b||`` for every row ``[a, b]`` of ``edges`` (m, 2); points: (n, d) -> (m,).

    The gradient of the norm at a zero-length edge (duplicate points) is set to 0 instead of NaN.
    """
    difference = points[edges[:, 0]] - points[edges[:, 1]]  # (m, d)
    squared = difference.pow(2).sum(-1)
    positive = squared > 0
    safe = torch.where(positive, squared, torch.ones_like(squared))
    return torch.where(positive, safe.sqrt(), torch.zeros_like(squared))


@dataclass
class Pairing:
    """A persistence pairing: the edges whose lengths are the finite H0 and H1 bar ends.

    h0_death: (n0, 2) int64, H0 bar i dies at the length of edge h0_death[i] (born at 0);
    h1_birth, h1_death: (n1, 2) int64, H1 bar i is (length h1_birth[i], length h1_death[i]).
    """

    h0_death: Tensor
    h1_birth: Tensor
    h1_death: Tensor

    @classmethod
    def from_arrays(cls, arrays: PairingArrays) -> Pairing:
        """Wrap the output of :func:`pairing_arrays`."""
        return cls(*(torch.from_numpy(array) for array in arrays))

    @classmethod
    def compute(cls, points: Tensor) -> Pairing:
        """giotto-ph's pairing of the current (detached) ``points`` (n, d)."""
        return cls.from_arrays(pairing_arrays(points.detach().cpu().double().numpy()))

    def diagrams(self, points: Tensor) -> tuple[Tensor, Tensor]:
        """Evaluate the pairing on ``points`` (n, d): ``(h0, h1)``, each (m, 2) rows (birth, death).

        One gather over all edges; differentiable w.r.t. ``points``. Half precision is upcast to
        float32 (distances stay float32 under autocast); float64 stays float64.
        """
        if points.dtype != torch.float64:
            points = points.float()
        edges = torch.cat([self.h0_death, self.h1_birth, self.h1_death]).to(points.device)
        lengths = edge_lengths(points, edges)
        n0, n1 = self.h0_death.shape[0], self.h1_birth.shape[0]
        h0_death, h1_birth, h1_death = lengths.split([n0, n1, n1])
        h0 = torch.stack([torch.zeros_like(h0_death), h0_death], dim=-1)
        h1 = torch.stack([h1_birth, h1_death], dim=-1)
        return h0, h1

    def state_dict(self, prefix: str = "") -> dict[str, Tensor]:
        """The index tensors as a plain dict (checkpointable), keys prefixed by ``prefix``."""
        return {
            f"{prefix}h0_death": self.h0_death,
            f"{prefix}h1_birth": self.h1_birth,
            f"{prefix}h1_death": self.h1_death,
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Tensor], prefix: str = "") -> Pairing:
        """Inverse of :meth:`state_dict`."""
        names = ("h0_death", "h1_birth", "h1_death")
        return cls(*(state[f"{prefix}{name}"].long().cpu() for name in names))


def pairing_stability(old: Pairing, new: Pairing) -> float:
    """Fraction of pairs unchanged: ``|old & new| / max(|old|, |new|)`` (1.0 if both are empty).

    A pair is an H0 death edge, or an H1 (birth edge, death edge) couple.
    """
    old_pairs, new_pairs = _pair_keys(old), _pair_keys(new)
    largest = max(len(old_pairs), len(new_pairs))
    return 1.0 if largest == 0 else len(old_pairs & new_pairs) / largest


def _pair_keys(pairing: Pairing) -> set[tuple[int, ...]]:
    h0 = {(0, *edge) for edge in pairing.h0_death.tolist()}
    h1_edges = torch.cat([pairing.h1_birth, pairing.h1_death], dim=1).tolist()
    return h0 | {(1, *edges) for edges in h1_edges}


def vietoris_rips_diagrams(points: Tensor) -> tuple[Tensor, Tensor]:
    """Finite H0 and H1 Vietoris-Rips persistence diagrams of ``points`` (n, d).

    Returns ``(h0, h1)``, tensors of shape (m, 2) with rows (birth, death), differentiable w.r.t.
    ``points``. Computes a fresh pairing each call; use :class:`ReusablePairing` in training loops.
    """
    return Pairing.compute(points).diagrams(points)
