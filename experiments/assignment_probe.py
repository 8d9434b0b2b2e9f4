"""The assignment alone: can the random-start losses find planted groups without the decoder?

A probe for the ablation of ``model=learnable_vq_random``: only the parts that move the assignment
are trained, by plain Adam (no Lightning, no codebooks, no joint decoder): ``SoftAssignment``
(D = 48, K = 6, random ``N(0, 0.01)`` logits), ``CategoryEncoders`` (48 -> 32 -> 2 per category)
on the softly routed input, ``CategoryReconstruction``; loss ``L_cat + w_o orthogonality(z) + w_b
balance(P) - w_H (1 - t / steps) H(P)`` (``H``: the mean row entropy of P, an optional bonus
annealed to 0). Batches of 128 from the first 6400 rows of ``GroupedFeaturesDataModule(seed)``,
model lr 2e-3, temperature linear per step from ``--temp-base`` to ``--temp-min``, gradient norm
clipped at 1. Prints the ARI of ``hard_assignment()`` per seed and its mean.
``python -m experiments.assignment_probe --orthogonality-weight 3 --assignment-lr 3e-3``.
"""

from __future__ import annotations

import argparse

import torch
from sklearn.metrics import adjusted_rand_score

from vqlab.data import GroupedFeaturesDataModule
from vqlab.nets import CategoryEncoders, route
from vqlab.quantizers import SoftAssignment
from vqlab.regularizers import CategoryReconstruction, balance_loss, orthogonality_loss


def probe(seed: int, args: argparse.Namespace) -> float:
    """Train the assignment on the seed's table; the ARI of its hard assignment."""
    torch.manual_seed(seed)
    data = GroupedFeaturesDataModule(seed=seed, nonlinear=args.nonlinear)
    table = data.load()[:6400]
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
        latents = encoders(route(x, assignment())).flatten(2)  # (b, K, 2)
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
    return adjusted_rand_score(data.groups.numpy(), assignment.hard_assignment().numpy())


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
