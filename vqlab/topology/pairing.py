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
here only the O(n) edges of the pairing are measured, in one :class:`EdgeLengths` call with a
hand-written gradient (the same values, the same gradient up to float summation order, far less
memory and work). The pairing itself is chosen from float64 distances cast to float32.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType

import numpy as np
import torch
from scipy.spatial.distance import pdist, squareform
from torch import Tensor

from vqlab.errors import MissingDependencyError
from vqlab.topology.edges import EdgeLengths

PairingArrays = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(h0_death, h1_birth, h1_death) edge arrays of shape (m, 2), int64: picklable, torch-free."""

GIOTTO_MISSING = (
    "HC-VQ needs giotto-ph (AGPL-3.0, an optional extra of MIT-licensed vqlab): "
    "pip install 'vqlab[topology]'"
)


def require_giotto_ph() -> ModuleType:
    """The ``gph`` module, or a ``MissingDependencyError`` saying how to install it (one line).

    giotto-ph is imported lazily so that ``vqlab.topology`` (and every model) imports without it.
    """
    try:
        import gph
    except ImportError as error:
        raise MissingDependencyError(GIOTTO_MISSING) from error
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

    Differentiable w.r.t. ``points``; the gradient at a zero-length edge is 0, not NaN.
    """
    return EdgeLengths.apply(points, edges[:, 0].contiguous(), edges[:, 1].contiguous())


@dataclass
class Pairing:
    """A persistence pairing: the edges whose lengths are the finite H0 and H1 bar ends.

    h0_death: (n0, 2) int64, H0 bar i dies at the length of edge h0_death[i] (born at 0);
    h1_birth, h1_death: (n1, 2) int64, H1 bar i is (length h1_birth[i], length h1_death[i]).
    """

    h0_death: Tensor
    h1_birth: Tensor
    h1_death: Tensor
    _ends: dict[torch.device, tuple[Tensor, Tensor]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

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

        One :class:`EdgeLengths` call over every bar end (see :meth:`edge_ends`), whose lengths are
        viewed as the diagrams; differentiable w.r.t. ``points``. Half precision is upcast to
        float32 (distances stay float32 under autocast); float64 stays float64.
        """
        if points.dtype != torch.float64:
            points = points.float()
        return self.split_lengths(EdgeLengths.apply(points, *self.edge_ends(points.device)))

    def edge_ends(self, device: torch.device) -> tuple[Tensor, Tensor]:
        """Endpoints ``(first, second)``, each (n0 + 2 n1,), of the edge of every finite bar end.

        Order: the H0 death edges ``h0_death``, then the H1 birth edges ``h1_birth``, then the H1
        death edges ``h1_death`` (H0 births are 0, no edge). Built once per device.
        """
        if device not in self._ends:
            edges = torch.cat([self.h0_death, self.h1_birth, self.h1_death]).to(device)
            self._ends[device] = (edges[:, 0].contiguous(), edges[:, 1].contiguous())
        return self._ends[device]

    def split_lengths(self, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """The diagrams ``(h0, h1)`` from the lengths (n0 + 2 n1,) of :meth:`edge_ends`' edges."""
        num_h1 = self.h1_birth.shape[0]
        h0_death, h1 = lengths.split([self.h0_death.shape[0], 2 * num_h1])
        return torch.stack([torch.zeros_like(h0_death), h0_death], 1), h1.view(2, num_h1).t()

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

    A pair is an H0 death edge, or an H1 (birth edge, death edge) couple. Vectorised: edge (a, b)
    of n points has the key ``a n + b``, then an id (its rank among the distinct edges of both
    pairings), an H1 couple the key ``id_birth * E + id_death`` (E = number of distinct edges, so
    no int64 overflow), and the pairs of each dimension are compared as sets of integers.
    """
    groups = [edges.numpy() for pairing in (old, new) for edges in pairing.state_dict().values()]
    stacked = np.concatenate(groups)  # (m, 2)
    keys = stacked[:, 0] * (int(stacked.max(initial=0)) + 1) + stacked[:, 1]
    distinct, ids = np.unique(keys, return_inverse=True)
    sizes = np.cumsum([len(edges) for edges in groups])[:-1]
    h0_old, birth_old, death_old, h0_new, birth_new, death_new = np.split(ids, sizes)
    old_sets = (np.unique(h0_old), np.unique(birth_old * len(distinct) + death_old))
    new_sets = (np.unique(h0_new), np.unique(birth_new * len(distinct) + death_new))
    largest = max(sum(map(len, old_sets)), sum(map(len, new_sets)))
    common = sum(
        np.intersect1d(a, b, assume_unique=True).size
        for a, b in zip(old_sets, new_sets, strict=True)
    )
    return 1.0 if largest == 0 else common / largest


def vietoris_rips_diagrams(points: Tensor) -> tuple[Tensor, Tensor]:
    """Finite H0 and H1 Vietoris-Rips persistence diagrams of ``points`` (n, d).

    Returns ``(h0, h1)``, tensors of shape (m, 2) with rows (birth, death), differentiable w.r.t.
    ``points``. Computes a fresh pairing each call; use :class:`ReusablePairing` in training loops.
    """
    return Pairing.compute(points).diagrams(points)
