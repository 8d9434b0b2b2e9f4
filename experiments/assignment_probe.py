"""The assignment alone: can the random-start losses find planted groups without the decoder?

A probe for the ablation of ``model=learnable_vq_random``: only the parts that move the assignment
are trained, by plain Adam (no Lightning, no codebooks, no joint decoder): ``SoftAssignment``
(D = 48, K = 6, random ``N(0, 0.01)`` logits), ``CategoryEncoders`` (48 -> 32 -> 2 per category)
on the softly routed input, ``CategoryReconstruction``; loss ``L_cat + w_o orthogonality(z) + w_b
balance(P) - w_H (1 - t / steps) H(P)`` (``H``: the mean row entropy of P, an optional bonus
annealed to 0). Batches of 128 from the first 6400 rows of ``GroupedFeaturesDataModule(seed)``,
model lr 2e-3, temperature linear per step from ``--temp-base`` to ``--temp-min``, gradient norm
clipped at 1. ``--restarts R`` trains R times (torch seeds 1000 seed + r) and keeps the run with
the lowest validation ``L_cat`` (hard routing, rows 6400-7199; no labels); ``--polish-rounds``
ends with hard Lloyd steps (each feature to the category whose read-out predicts it best, then
``--polish-steps`` of training); ``--deterministic`` routes by ``softmax(alpha / T)`` (no Gumbel
noise); ``--search`` runs ``search_assignment`` (the split-merge search of
``callbacks=learnable_vq_random``) instead. Prints the ARI of ``hard_assignment()`` per seed and
its mean. ``python -m experiments.assignment_probe --orthogonality-weight 3 --assignment-lr
3e-3``.
"""

from __future__ import annotations

import argparse

import torch
from sklearn.metrics import adjusted_rand_score
from torch import Tensor

from vqlab.clustering.assignment_search import search_assignment
from vqlab.data import GroupedFeaturesDataModule
from vqlab.nets import CategoryEncoders, route
from vqlab.quantizers import SoftAssignment
from vqlab.regularizers import CategoryReconstruction, balance_loss, orthogonality_loss


def probe(seed: int, args: argparse.Namespace) -> float:
    """Best of ``args.restarts`` runs by validation per-category loss; its ARI."""
    data = GroupedFeaturesDataModule(seed=seed, nonlinear=args.nonlinear)
    rows = data.load()
    if args.search:  # the split-merge search of callbacks=learnable_vq_random, alone
        labels = search_assignment(
            rows[:6400], data.num_groups, moves=args.moves, restarts=args.restarts, seed=seed
        )
        return adjusted_rand_score(data.groups.numpy(), labels.numpy())
    runs = [attempt(seed * 1000 + r, data, rows, args) for r in range(args.restarts)]
    print(seed, [(round(a, 3), round(v, 4)) for a, v in runs])
    return min(runs, key=lambda run: run[1])[0]


def attempt(
    seed: int, data: GroupedFeaturesDataModule, rows: Tensor, args: argparse.Namespace
) -> tuple[float, float]:
    """Train on rows 0-6399 from seed; ARI and validation ``L_cat`` (rows 6400-7199, hard)."""
    torch.manual_seed(seed)
    table = rows[:6400]
    assignment = SoftAssignment(data.num_features, data.num_groups, hard=args.hard)
    encoders = CategoryEncoders(data.num_groups, data.num_features, [32], latent_dim=2)
    readout = CategoryReconstruction(data.num_groups, 2, data.num_features)
    model_parameters = [*encoders.parameters(), *readout.parameters()]
    optimizer = torch.optim.Adam(
        [
            {"params": model_parameters},
            {"params": list(assignment.parameters()), "lr": args.assignment_lr},
        ],
        lr=2e-3,
    )
    for step in range(args.steps):
        progress = step / (args.steps - 1)
        assignment.temperature = args.temp_base + (args.temp_min - args.temp_base) * progress
        x = table[torch.randint(len(table), (128,))]
        routing = (
            (assignment.logits / assignment.temperature).softmax(-1)
            if args.deterministic
            else assignment()
        )
        latents = encoders(route(x, routing)).flatten(2)  # (b, K, 2)
        probabilities = assignment.probabilities()
        entropy = -(probabilities * probabilities.clamp_min(1e-9).log()).sum(-1).mean()
        loss = (
            readout(x, latents, probabilities)
            + args.orthogonality_weight * orthogonality_loss(latents)
            + args.balance_weight * balance_loss(probabilities)
            - args.entropy_weight * (1.0 - progress) * entropy
        )
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([*model_parameters, *assignment.parameters()], 1.0)
        optimizer.step()
    for _ in range(args.polish_rounds):  # Lloyd: each feature to its best category, retrain
        with torch.no_grad():
            latents = encoders(route(table[:2048], assignment.hard_matrix())).flatten(2)
            errors = (table[:2048].unsqueeze(1) - readout.predictions(latents)).square().mean(0)
            assignment.initialize(errors.argmin(0), 3.0)
        for _ in range(args.polish_steps):
            x = table[torch.randint(len(table), (128,))]
            latents = encoders(route(x, assignment.hard_matrix())).flatten(2)
            loss = readout(x, latents, assignment.hard_matrix())
            loss = loss + args.orthogonality_weight * orthogonality_loss(latents)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        valid = rows[6400:7200]
        latents = encoders(route(valid, assignment.hard_matrix())).flatten(2)
        loss = readout(valid, latents, assignment.hard_matrix()).item()
    return adjusted_rand_score(data.groups.numpy(), assignment.hard_assignment().numpy()), loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--assignment-lr", type=float, default=1e-2)
    parser.add_argument("--orthogonality-weight", type=float, default=1.0)
    parser.add_argument("--balance-weight", type=float, default=0.05)
    parser.add_argument("--entropy-weight", type=float, default=0.0)
    parser.add_argument("--temp-base", type=float, default=1.0)
    parser.add_argument("--temp-min", type=float, default=0.05)
    parser.add_argument("--hard", action="store_true")
    parser.add_argument("--deterministic", action="store_true", help="no Gumbel noise")
    parser.add_argument("--search", action="store_true", help="search_assignment alone")
    parser.add_argument("--moves", type=int, default=6, help="split-merge moves (--search)")
    parser.add_argument("--restarts", type=int, default=1, help="lowest validation L_cat wins")
    parser.add_argument("--polish-rounds", type=int, default=0, help="hard Lloyd steps at the end")
    parser.add_argument("--polish-steps", type=int, default=200, help="training after each")
    parser.add_argument("--nonlinear", action="store_true")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 seed, 20 steps")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.steps = args.seeds[:1], 20
    torch.set_num_threads(1)
    scores = [probe(seed, args) for seed in args.seeds]
    shown = " / ".join(f"{score:.3f}" for score in scores)
    print(f"{vars(args)}\nARI {shown}, mean {sum(scores) / len(scores):.3f}")


if __name__ == "__main__":
    main()
