"""Does the learnable assignment recover planted feature groups? Learned vs static routing.

Data: ``GroupedFeaturesDataModule`` (D = 48 features in K = 6 planted groups of 8, 2 factors per
group, noise 0.3, 8000 samples, seed = run seed). Model: ``LearnableVQVAE`` with K = 6
categories (EMA codebooks of 32 codes, latent dim 2 per category), trained with the callbacks of
``callbacks=learnable_vq``: temperature 1 -> 0.1 linear per epoch, k-means codebook init, dead-code
respawn. Three variants per seed:
- learned, random init: logits ``N(0, 0.01)``;
- learned, clustering init: ``ClusteringInit`` (average linkage on ``1 - |corr|``, confidence 3);
- static: the clustering init frozen before the first step (``freeze_after_epochs=0``).
Scores: adjusted Rand index of ``hard_assignment()`` vs the planted groups, test recon MSE.
``python -m experiments.learnable_assignment`` (from the repository root). Every ``Settings``
field is a flag (``--category-recon-weight 1 --orthogonality-weight 3 --assignment-lr 3e-3
--temp-min 0.05 --search`` is the random-start recipe of ``model=learnable_vq_random``:
``--search`` adds its assignment-first phase, ``AssignmentSearchInit``, to the random-init
variant; ``--nonlinear`` plants groups that correlation cannot see).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from dataclasses import dataclass
from functools import partial

import lightning as L
import torch
from sklearn.metrics import adjusted_rand_score

from vqlab.callbacks import (
    AssignmentSearchInit,
    ClusteringInit,
    DeadCodeRespawn,
    KMeansInit,
    TemperatureAnnealing,
)
from vqlab.data import GroupedFeaturesDataModule
from vqlab.models import LearnableVQVAE
from vqlab.nets import CategoryEncoders, MLPDecoder
from vqlab.quantizers import EMAQuantizer, SoftAssignment
from vqlab.regularizers import AssignmentLosses, CategoryReconstruction

VARIANTS = ("learned, random init", "learned, clustering init", "static clustering")


@dataclass(frozen=True)
class Settings:
    """Training settings shared by every run."""

    epochs: int = 30
    lr: float = 2e-3
    assignment_lr: float = 2e-4
    temp_base: float = 1.0
    temp_min: float = 0.1
    hard: bool = False
    indirect_dim: int | None = None
    freeze_after: int | None = None
    orthogonality_weight: float = 0.1
    balance_weight: float = 0.05
    category_recon_weight: float = 0.0
    nonlinear: bool = False
    search: bool = False


def build(num_features: int, num_categories: int, settings: Settings, freeze: int | None):
    category_recon = None
    if settings.category_recon_weight > 0:
        category_recon = CategoryReconstruction(num_categories, 2, num_features)
    return LearnableVQVAE(
        SoftAssignment(
            num_features, num_categories, hard=settings.hard, indirect_dim=settings.indirect_dim
        ),
        CategoryEncoders(num_categories, num_features, hidden_features=[32], latent_dim=2),
        partial(EMAQuantizer, codebook_size=32, dim=2),
        MLPDecoder([num_features], hidden_features=[64], latent_dim=2, num_latents=num_categories),
        partial(torch.optim.Adam, lr=settings.lr),
        AssignmentLosses(
            settings.balance_weight,
            settings.orthogonality_weight,
            category_recon=category_recon,
            category_recon_weight=settings.category_recon_weight,
        ),
        assignment_lr=settings.assignment_lr,
        freeze_after_epochs=freeze,
    )


def run(variant: str, seed: int, settings: Settings) -> dict:
    """Train one variant on the seed's data; ARI and test recon MSE."""
    L.seed_everything(seed, verbose=False)
    data = GroupedFeaturesDataModule(seed=seed, nonlinear=settings.nonlinear)
    data.setup()
    freeze = 0 if "static" in variant else settings.freeze_after
    model = build(data.num_features, data.num_groups, settings, freeze)
    # the callbacks of `callbacks=learnable_vq` (less the checkpoints and images)
    callbacks: list[L.Callback] = [
        TemperatureAnnealing(settings.temp_base, settings.temp_min, "linear"),
        KMeansInit(seed=seed),
        DeadCodeRespawn(every_n_steps=20, threshold=0.03, seed=seed),
    ]
    if "clustering" in variant:
        callbacks.insert(0, ClusteringInit())
    elif settings.search:  # the assignment-first phase of `callbacks=learnable_vq_random`
        callbacks.insert(0, AssignmentSearchInit(seed=seed))
    trainer = L.Trainer(
        max_epochs=settings.epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        accelerator="cpu",
        callbacks=callbacks,
    )
    start = time.perf_counter()
    trainer.fit(model, datamodule=data)
    seconds = time.perf_counter() - start
    model.eval()
    test = data.splits["test"].tensors[0]
    with torch.no_grad():
        mse = torch.mean((model(test)[0] - test) ** 2).item()
    labels = model.assignment.hard_assignment().numpy()
    return {
        "variant": variant,
        "seed": seed,
        "ari": adjusted_rand_score(data.groups.numpy(), labels),
        "test_mse": mse,
        "categories_used": len(set(labels.tolist())),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    for field in dataclasses.fields(Settings):
        flag = "--" + field.name.replace("_", "-")
        if field.type == "bool":
            parser.add_argument(flag, action="store_true")
        else:
            kind = {"int": int, "float": float, "int | None": int, "float | None": float}
            parser.add_argument(flag, type=kind[field.type], default=field.default)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 seed, 1 epoch")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.epochs = args.seeds[:1], 2  # 2: a temperature schedule needs 2 epochs
    torch.set_num_threads(1)
    settings = Settings(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Settings)})
    print(f"settings: {settings}; load average before: {os.getloadavg()}")
    rows = [run(variant, seed, settings) for variant in args.variants for seed in args.seeds]
    print("\n| variant | seed | ARI | test recon MSE | categories used | seconds |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['variant']} | {row['seed']} | {row['ari']:.3f} | {row['test_mse']:.4f} | "
            f"{row['categories_used']} | {row['seconds']:.0f} |"
        )
    print("\n| variant | mean ARI | min ARI | mean test recon MSE |")
    print("|---|---|---|---|")
    for variant in args.variants:
        chosen = [row for row in rows if row["variant"] == variant]
        aris = [row["ari"] for row in chosen]
        mses = [row["test_mse"] for row in chosen]
        print(
            f"| {variant} | {sum(aris) / len(aris):.3f} | {min(aris):.3f} | "
            f"{sum(mses) / len(mses):.4f} |"
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
