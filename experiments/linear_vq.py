"""The linear VQ-VAE study's table, K scaling and beta ablation, through vqlab's Lightning runs.

Setting (``conf/experiment/linear_vq_table.yaml``): D = 64, rank 6, m = 4, K = 32, 20000 train and
4000 eval vectors, batch 1024, alpha 1, beta 0.25, lr(W) 0.05, lr(E) 0.2, 500 SGD steps, seed 42.
Every run is ``vqlab.train.train`` on the composed experiment config (the same code path as
``python -m vqlab.train experiment=linear_vq_table``), in this process. Also: the methods' shared
k-means start alone, the study's lr(W) 0.08 for the manual gradients, and Lightning's per-step
cost against a bare torch loop running the same update on the same batches.

``OMP_NUM_THREADS=1 python experiments/linear_vq.py`` (tiny matrices: a second thread only
contends; on a loaded machine two threads make a step ~100x slower).
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from functools import partial
from pathlib import Path

import lightning as L
import matplotlib
import numpy as np
import torch
from hydra import compose, initialize_config_dir

from vqlab.config.resolvers import register_resolvers
from vqlab.data import GaussianSubspaceDataModule
from vqlab.data.gaussian_subspace import planted_subspace_data
from vqlab.models import KMeansStart, LinearVQ
from vqlab.models.linear_vq_gradients import straight_through_gradients
from vqlab.nets import StiefelLinearEncoder
from vqlab.nets.stiefel import polar_retraction, tangent_projection
from vqlab.train import CONFIG_DIR, train

matplotlib.use("Agg")
import matplotlib.pyplot as plt

FIGURES = Path(__file__).resolve().parent / "figures"
# overrides added to every run: ``--quick`` shortens them
EXTRA_OVERRIDES: list[str] = []
# the study's README table (its convergence_results.json, seed 42, 500 steps)
# ("Rotation" there is the displacement projection, and its manual STE ran at lr(W) 0.08)
STUDY = {"pca_lloyd": 2.4893, "ste": 2.4475, "displacement": 2.4479, "ste_manual": 2.4577}
K_METHODS = ("pca_lloyd", "ste", "rotation", "displacement")
LABELS = {
    "pca_lloyd": "PCA + Lloyd",
    "ste": "autograd STE",
    "ste_manual": "manual STE",
    "rotation": "rotation trick (Fifty et al.)",
    "displacement": "displacement (study's 'rotation')",
}


def run(overrides: list[str], workdir: Path) -> tuple[dict[str, float], list[dict], float]:
    """Train one config; its test metrics, its CSV rows and its wall time (s)."""
    output = Path(tempfile.mkdtemp(dir=workdir))
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                "experiment=linear_vq_table",
                f"paths.root_dir={output}",
                f"paths.output_dir={output}",
                *overrides,
                *EXTRA_OVERRIDES,
            ],
        )
    start = time.perf_counter()
    metrics = train(cfg)
    wall = time.perf_counter() - start
    rows = list(csv.DictReader((output / "csv" / "version_0" / "metrics.csv").open()))
    return {k: float(v) for k, v in metrics.items() if k.startswith("test/")}, rows, wall


def lab_model(seed: int) -> LinearVQ:
    """The ``ste`` lab model at the study's sizes (D = 64, m = 4, K = 32)."""
    return LinearVQ(
        StiefelLinearEncoder(64, 4), partial(torch.optim.SGD), start=KMeansStart(seed=seed)
    )


def init_only(seed: int) -> float:
    """Eval recon of the gradient methods' start (PCA + 20 Lloyd steps on 8000 rows)."""
    data = GaussianSubspaceDataModule(seed=seed)
    data.setup()
    model = LinearVQ(
        StiefelLinearEncoder(64, 4), partial(torch.optim.SGD), start=KMeansStart(seed=seed)
    )
    model.initialize(data.splits["train"])
    with torch.no_grad():
        x = data.splits["eval"]
        return float(model.losses(x, model(x))["recon_sse"])


def bare_loop_seconds_per_step(steps: int, seed: int) -> float:
    """The ``ste`` update (autograd, tangent projection, SGD, polar retraction) without Lightning,
    on the same batches (``DeviceBatchLoader`` + ``EpochSeededSampler``)."""
    data = GaussianSubspaceDataModule(seed=seed)
    data.setup()
    model = LinearVQ(
        StiefelLinearEncoder(64, 4), partial(torch.optim.SGD), start=KMeansStart(seed=seed)
    )
    model.initialize(data.splits["train"])
    optimizer = torch.optim.SGD(model.parameter_groups(), lr=0.05)
    loader = data.train_dataloader()
    done, epoch = 0, 0
    start = time.perf_counter()
    while done < steps:
        loader.sampler.set_epoch(epoch)
        for (x,) in loader:
            optimizer.zero_grad()
            model.losses(x, model(x))["loss"].backward()
            model.encoder.project_gradient_()
            optimizer.step()
            model.encoder.retract_()
            done += 1
            if done == steps:
                break
        epoch += 1
    return (time.perf_counter() - start) / steps


def lightning_seconds_per_step(steps: int, seed: int) -> float:
    """The same ``ste`` run through ``Trainer.fit`` (no logger, checkpoint or validation), per
    step, the k-means start excluded."""
    L.seed_everything(seed)
    data = GaussianSubspaceDataModule(seed=seed)
    model = LinearVQ(
        StiefelLinearEncoder(64, 4), partial(torch.optim.SGD), start=KMeansStart(seed=seed)
    )
    data.setup()
    model.initialize(data.splits["train"])
    trainer = L.Trainer(
        max_steps=steps,
        max_epochs=-1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
    )
    start = time.perf_counter()
    trainer.fit(model, datamodule=data)
    return (time.perf_counter() - start) / steps


@torch.no_grad()
def study_manual_update(
    seed: int, steps: int, lr_w: float, per_code: bool, half_normal: bool
) -> float:
    """The study's manual-gradient loop, re-derived (float64, its batch draws): eval recon MSE.

    Batches: ``numpy.random.default_rng(seed).integers(0, N, size=1024)`` per step. ``W`` gets
    the hand-derived STE gradient ``G``; with ``half_normal`` the study's projection
    ``G - W sym(W^T G) - (1/2) (I - W W^T) G`` (half the component normal to span W, i.e. half
    the canonical-metric gradient), else the tangent projection. The codebook gets
    ``2 alpha (e_j - mean of its batch rows)`` with ``per_code`` (the study's: a step that does
    not shrink with the code's share of the batch), else the exact gradient
    ``(2 alpha / B) sum_i (e_j - z_i)``. Then SGD (lr(E) 0.2) and the polar retraction.
    """
    _, train, evaluation = planted_subspace_data(64, 6, 4.0, 0.25, 20000, 4000, seed)
    model = LinearVQ(
        StiefelLinearEncoder(64, 4), partial(torch.optim.SGD), start=KMeansStart(seed=seed)
    )
    model.double().initialize(train)
    w, codebook = model.encoder.weight.data, model.codebook.data
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = train[torch.from_numpy(rng.integers(0, train.shape[0], size=1024))]
        indices = (codebook.pow(2).sum(-1) - 2 * (x @ w) @ codebook.t()).argmin(-1)
        grad_w, grad_e = straight_through_gradients(x, w, codebook, indices, 1.0, 0.25)
        if per_code:
            counts = torch.bincount(indices, minlength=codebook.shape[0]).double()
            grad_e = grad_e * (x.shape[0] / counts.clamp_min(1))[:, None]
        tangent = tangent_projection(w, grad_w)
        if half_normal:
            tangent = tangent - 0.5 * (grad_w - w @ (w.t() @ grad_w))
        codebook -= 0.2 * grad_e
        w.copy_(polar_retraction(w - lr_w * tangent))
    with torch.no_grad():
        return float(model.losses(evaluation, model(evaluation))["recon_sse"])


def curve(rows: list[dict], key: str) -> tuple[list[int], list[float]]:
    points = [(int(r["step"]), float(r[key])) for r in rows if r.get(key)]
    return [p[0] for p in points], [p[1] for p in points]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-ablations", action="store_true")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 3 steps, two methods, no ablations"
    )
    args = parser.parse_args()
    register_resolvers()
    figures, speed_steps = FIGURES, 500
    methods = ["pca_lloyd", "ste", "ste_manual", "rotation", "displacement"]
    if args.quick:  # the committed figure stays as it is
        EXTRA_OVERRIDES.extend(["trainer.max_steps=3", "data.num_train=2048", "data.num_eval=512"])
        args.skip_ablations, speed_steps, methods = True, 3, ["pca_lloyd", "ste_manual"]
        figures = Path(tempfile.mkdtemp(prefix="vqlab_linear_vq_"))
    figures.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="linear_vq_"))
    seed = [f"seed={args.seed}"]
    print(f"threads {torch.get_num_threads()}, load average at start {os.getloadavg()}")

    results, curves, table_wall = {}, {}, 0.0
    for method in methods:
        results[method], rows, wall = run([*seed, f"model/linear_method={method}"], workdir)
        curves[method] = curve(rows, "val/recon_sse")
        table_wall += wall if method != "displacement" else 0.0
    results["ste_manual@0.08"], _, _ = run(
        [*seed, "model/linear_method=ste_manual", "model.optimizer.lr=0.08"], workdir
    )
    start_recon = init_only(args.seed)
    base = results["pca_lloyd"]["test/recon_sse"]
    print("\n| method | recon MSE | vs PCA + Lloyd | utilisation | in-subspace | dead | study |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for key, metrics in results.items():
        method = key.split("@")[0]
        name = LABELS[method] + (" lr(W) 0.08" if "@" in key else "")
        recon = metrics["test/recon_sse"]
        study = STUDY.get(method) if (method != "ste_manual") == ("@" not in key) else None
        print(
            f"| {name} | {recon:.4f} | {100 * (recon / base - 1):+.2f}% | "
            f"{100 * metrics['test/utilisation']:.1f}% | "
            f"{metrics['test/in_subspace_distortion']:.4f} | {metrics['test/dead_fraction']:.2f} | "
            f"{'' if study is None else f'{study:.4f}'} |"
        )
    print(
        f"| k-means start of the gradient methods, no step | {start_recon:.4f} | "
        f"{100 * (start_recon / base - 1):+.2f}% | | | | |"
    )
    print(
        f"\nfour-method table (pca_lloyd, ste, ste_manual, rotation) through Lightning: "
        f"{table_wall:.1f} s, load average {os.getloadavg()}"
    )

    print(
        f"\nthe study's manual update, re-derived (float64, its batch draws, {speed_steps} steps):"
    )
    print("| codebook step | W projection | lr(W) | recon MSE |")
    print("| --- | --- | --- | --- |")
    for per_code, half_normal, lr_w in [
        (True, True, 0.08),
        (False, True, 0.08),
        (True, False, 0.08),
        (False, False, 0.08),
        (False, False, 0.05),
    ]:
        recon = study_manual_update(args.seed, speed_steps, lr_w, per_code, half_normal)
        print(
            f"| {'per code (study)' if per_code else 'exact gradient'} | "
            f"{'half normal (study)' if half_normal else 'tangent'} | {lr_w} | {recon:.4f} |"
        )

    bare = bare_loop_seconds_per_step(speed_steps, args.seed)
    lightning = lightning_seconds_per_step(speed_steps, args.seed)
    print(
        f"per step: bare torch loop {1e3 * bare:.2f} ms, Lightning fit {1e3 * lightning:.2f} ms "
        f"({lightning / bare:.1f}x), load average {os.getloadavg()}"
    )

    figure, axes = plt.subplots(1, 3 if not args.skip_ablations else 1, figsize=(15, 4))
    axes = [axes] if args.skip_ablations else axes
    for method, (steps, values) in curves.items():
        if method != "pca_lloyd":  # from the shared k-means start at step 0
            axes[0].plot([0, *steps], [start_recon, *values], "o-", label=LABELS[method])
    axes[0].axhline(base, color="black", linestyle="--", label="PCA + Lloyd")
    axes[0].set(xlabel="step", ylabel="eval recon MSE", title="training, K = 32")
    axes[0].legend(fontsize=7)

    if not args.skip_ablations:
        print("\nK scaling (300 steps): recon MSE (utilisation)")
        print("| K | " + " | ".join(LABELS[m] for m in K_METHODS) + " |")
        print("| --- | --- | --- | --- | --- |")
        by_k: dict[str, list[float]] = {m: [] for m in K_METHODS}
        sizes = [8, 16, 32, 64]
        for k in sizes:
            cells = []
            for method in by_k:
                m, _, _ = run(
                    [
                        *seed,
                        f"model/linear_method={method}",
                        f"model.codebook_size={k}",
                        "trainer.max_steps=300",
                    ],
                    workdir,
                )
                by_k[method].append(m["test/recon_sse"])
                cells.append(f"{m['test/recon_sse']:.4f} ({100 * m['test/utilisation']:.1f}%)")
            print(f"| {k} | " + " | ".join(cells) + " |")
        for method, values in by_k.items():
            axes[1].plot(sizes, values, "o-", label=LABELS[method])
        axes[1].set(xscale="log", xlabel="K", ylabel="eval recon MSE", title="codebook size")
        axes[1].legend(fontsize=7)

        print("\nbeta ablation (K = 32, 300 steps): recon MSE (utilisation)")
        print("| beta | " + " | ".join(LABELS[m] for m in K_METHODS[1:]) + " |")
        print("| --- | --- | --- | --- |")
        betas = [0.0, 0.25, 0.5, 1.0]
        by_beta: dict[str, list[float]] = {m: [] for m in K_METHODS[1:]}
        for beta in betas:
            cells = []
            for method in by_beta:
                m, _, _ = run(
                    [
                        *seed,
                        f"model/linear_method={method}",
                        f"model.beta={beta}",
                        "trainer.max_steps=300",
                    ],
                    workdir,
                )
                by_beta[method].append(m["test/recon_sse"])
                cells.append(f"{m['test/recon_sse']:.4f} ({100 * m['test/utilisation']:.1f}%)")
            print(f"| {beta} | " + " | ".join(cells) + " |")
        for method, values in by_beta.items():
            axes[2].plot(betas, values, "o-", label=LABELS[method])
        axes[2].set(xlabel="beta", ylabel="eval recon MSE", title="commitment weight")
        axes[2].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(figures / "linear_vq.png", dpi=110)
    print(f"\nfigure: {figures / 'linear_vq.png'}; load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
