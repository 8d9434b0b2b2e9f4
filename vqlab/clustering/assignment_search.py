"""Learn a feature-to-category assignment from a random start: k-subspace search with split-merge.

The assignment-only problem behind ``model=learnable_vq_random``: a ``SoftAssignment`` (D, K),
one small encoder per category reading its softly routed features (``CategoryEncoders``, one
hidden layer of 32, latent m = ``latent_dim``) and ``CategoryReconstruction`` (each category's
linear read-out of all D features), trained by Adam (lr 2e-3, the assignment 3e-3, batches of
128, gradient norm clipped at 1, Gumbel temperature linear per step 1 -> 0.05) on

    L = L_cat + 3 orthogonality(z) + 0.05 balance(P)

(``vqlab.regularizers``). With ``err_kd`` the validation mean squared error of category k's
read-out on feature d under the hard routing, and ``c(d)`` the hard category of d, the criterion
is ``V = mean_d err_c(d),d`` (the model's own per-category loss; no labels).

Gradient descent alone stops in a local minimum where two planted groups share two categories,
each category holding one factor of each group (``experiments/README.md``). A split-merge move
(after the SMEM algorithm of Ueda, Nakano, Ghahramani & Hinton, "SMEM Algorithm for Mixture
Models", Neural Computation 12, 2000, Sec. 3) re-learns such a pair: the merge candidates are the
pairs (k, l) whose latents best predict each other's features,

    s_kl = mean_{d: c(d)=k} (1 - err_ld) + mean_{d: c(d)=l} (1 - err_kd),

highest first; a move gives the features of k and l equal logits on k and l (3, the other
categories 0) and every other feature the logits ``3 one_hot(c(d))``, re-initialises k's and
l's encoders and read-outs, trains ``move_steps`` more steps, and is kept only if V drops.
After a kept move the candidates are ranked again; a rejected pair is not tried again until a
move is kept.

Deviation: SMEM ranks merges by the inner product of the posteriors and splits by a local
Kullback-Leibler criterion on a mixture of densities; here both halves of the move are one
re-learning of the pair, ranked by the cross-prediction ``s_kl``.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vqlab.errors import ConfigValueError, check_non_negative, check_positive
from vqlab.nets import CategoryEncoders, route
from vqlab.quantizers import SoftAssignment
from vqlab.regularizers import CategoryReconstruction, balance_loss, orthogonality_loss

LR, ASSIGNMENT_LR, BATCH = 2e-3, 3e-3, 128
ORTHOGONALITY, BALANCE = 3.0, 0.05
TEMP_BASE, TEMP_MIN, CONFIDENCE = 1.0, 0.05, 3.0


@dataclass
class Search:
    """The trained parts: assignment, category encoders, per-category read-outs."""

    assignment: SoftAssignment
    encoders: CategoryEncoders
    readout: CategoryReconstruction

    @classmethod
    def fresh(cls, num_features: int, num_categories: int, latent_dim: int) -> Search:
        return cls(
            SoftAssignment(num_features, num_categories),
            CategoryEncoders(num_categories, num_features, [32], latent_dim=latent_dim),
            CategoryReconstruction(num_categories, latent_dim, num_features),
        )

    def model_parameters(self) -> list[nn.Parameter]:
        return [*self.encoders.parameters(), *self.readout.parameters()]


def train(search: Search, rows: Tensor, steps: int, generator: torch.Generator) -> None:
    """``steps`` Adam steps on ``L`` (module docstring), temperature 1 -> 0.05 linear per step."""
    model_parameters = search.model_parameters()
    assignment_parameters = list(search.assignment.parameters())
    optimizer = torch.optim.Adam(
        [{"params": model_parameters}, {"params": assignment_parameters, "lr": ASSIGNMENT_LR}],
        lr=LR,
    )
    for step in range(steps):
        progress = step / max(steps - 1, 1)
        search.assignment.temperature = TEMP_BASE + (TEMP_MIN - TEMP_BASE) * progress
        x = rows[torch.randint(len(rows), (BATCH,), generator=generator)]
        latents = search.encoders(route(x, search.assignment())).flatten(2)  # (b, K, m)
        probabilities = search.assignment.probabilities()
        loss = (
            search.readout(x, latents, probabilities)
            + ORTHOGONALITY * orthogonality_loss(latents)
            + BALANCE * balance_loss(probabilities)
        )
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([*model_parameters, *assignment_parameters], 1.0)
        optimizer.step()


@torch.no_grad()
def category_errors(search: Search, rows: Tensor) -> tuple[Tensor, float]:
    """``err_kd`` (K, D) under the hard routing, and the criterion ``V``."""
    hard = search.assignment.hard_matrix()
    latents = search.encoders(route(rows, hard)).flatten(2)
    errors = (rows.unsqueeze(1) - search.readout.predictions(latents)).square().mean(0)
    return errors, (errors.t() * hard).sum(-1).mean().item()


def merge_candidates(errors: Tensor, labels: Tensor) -> list[tuple[int, int]]:
    """Category pairs by ``s_kl`` (module docstring), highest first."""
    hard = F.one_hot(labels, errors.shape[0]).float()  # (D, K)
    predicted = ((1.0 - errors) @ hard) / hard.sum(0).clamp_min(1.0)  # [l, k]: l predicts k
    score = predicted + predicted.t()
    num_categories = errors.shape[0]
    pairs = list(itertools.combinations(range(num_categories), 2))
    return sorted(pairs, key=lambda pair: -score[pair].item())


@torch.no_grad()
def reopen(search: Search, pair: tuple[int, int], latent_dim: int) -> Search:
    """A copy with the pair's features split evenly between its two categories, both re-drawn."""
    moved = copy.deepcopy(search)
    num_categories = search.assignment.num_categories
    labels = search.assignment.hard_assignment()
    logits = CONFIDENCE * F.one_hot(labels, num_categories).float()
    members = (labels == pair[0]) | (labels == pair[1])
    logits[members.nonzero(), list(pair)] = CONFIDENCE
    moved.assignment.logits.copy_(logits)
    fresh = Search.fresh(search.assignment.num_features, num_categories, latent_dim)
    for old, new in ((moved.encoders, fresh.encoders), (moved.readout, fresh.readout)):
        for parameter, drawn in zip(old.parameters(), new.parameters(), strict=True):
            parameter[list(pair)] = drawn[list(pair)]  # every parameter is stacked over K
    return moved


def search_assignment(
    rows: Tensor,
    num_categories: int,
    *,
    steps: int = 1500,
    moves: int = 6,
    move_steps: int = 500,
    latent_dim: int = 2,
    restarts: int = 1,
    seed: int = 0,
) -> Tensor:
    """Hard categories (D,) int64 of the columns of ``rows`` (n, D): train, then split-merge.

    The last eighth of the rows (at least one) scores the moves and picks, of ``restarts``
    independent runs, the one with the lowest ``V``; the rest trains.
    """
    check_positive("restarts", restarts)
    check_positive("steps", steps)
    check_non_negative("moves", moves)
    check_positive("move_steps", move_steps)
    check_positive("latent_dim", latent_dim)
    if rows.ndim != 2 or len(rows) < 2:
        raise ConfigValueError("rows", "a (n >= 2, D) table", tuple(rows.shape))
    rows = rows.detach().float().cpu()
    held_out = max(len(rows) // 8, 1)
    training, validation = rows[:-held_out], rows[-held_out:]
    settings = (steps, moves, move_steps, latent_dim)
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)  # the parts' initial draws and the Gumbel noise
        found = [
            split_merge(training, validation, num_categories, settings, generator)
            for _ in range(restarts)
        ]
    return min(found, key=lambda result: result[1])[0]


def split_merge(
    training: Tensor,
    validation: Tensor,
    num_categories: int,
    settings: tuple[int, int, int, int],
    generator: torch.Generator,
) -> tuple[Tensor, float]:
    """One restart: train from random logits, then the moves; hard categories and ``V``."""
    steps, moves, move_steps, latent_dim = settings
    search = Search.fresh(training.shape[1], num_categories, latent_dim)
    train(search, training, steps, generator)
    errors, criterion = category_errors(search, validation)
    rejected: set[tuple[int, int]] = set()
    for _ in range(moves):
        labels = search.assignment.hard_assignment()
        pairs = [p for p in merge_candidates(errors, labels) if p not in rejected]
        if not pairs:
            break
        candidate = reopen(search, pairs[0], latent_dim)
        train(candidate, training, move_steps, generator)
        candidate_errors, candidate_criterion = category_errors(candidate, validation)
        if candidate_criterion < criterion:
            search, errors, criterion = candidate, candidate_errors, candidate_criterion
            rejected.clear()
        else:
            rejected.add(pairs[0])
    return search.assignment.hard_assignment(), criterion
