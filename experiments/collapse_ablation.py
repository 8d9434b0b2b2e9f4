"""The collapse ablation: every lever of ``conf/lever/`` x seeds -> test usage, perplexity, MSE.

Each (lever, seed) is ``python -m vqlab.train experiment=collapse_ablation lever=LEVER seed=SEED``
(the same configs as the Hydra multirun), run in this process one after the other, with torch on
one intra-op thread (``--threads``: on a shared 2-core machine two threads spin against each other
and run ~30x slower). Results are appended to ``--results`` (JSON lines), so a second invocation
skips what is done; ``--report`` only prints the table and draws the plot.

Run from the repository root:

    python -m experiments.collapse_ablation --seeds 1 2 3
    python -m experiments.collapse_ablation --report

``--data mnist --data-root DIR`` (or ``--data photos``) runs the same rows on real images, sized
by ``--max-steps``, ``--val-every``, ``--hidden-channels``, ``--residual-channels``,
``--residual-blocks``, ``--limit-test-batches``, ``--lr``; each record then keeps its validation
curve (step, ``val/recon_mse``) from the run's CSV log, and results / figure default to
``collapse_ablation_<data>.{jsonl,png}``.

Table: mean ± std over seeds of the test split's code usage (fraction of the 512 codes of each
codebook used at least once; the mean over codebooks for grouped / residual), perplexity
(exp of the code-histogram entropy; over the concatenated histograms for several codebooks) and
reconstruction MSE (images in [-1, 1]). Plot: usage against recon MSE, one point per run.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

from vqlab.train import train

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / "conf"
# the order of the table; ema_kmeans_respawn needs the KMeansInit / DeadCodeRespawn callbacks
LEVERS = (
    "ste", "rotation", "ema", "ema_uniform", "cosine", "lowdim", "simvq", "entropy",
    "grouped", "residual2", "residual4", "growth", "ema_kmeans_respawn",
    "fsq", "lfq", "affine", "orthogonal", "cvq", "curriculum",
)  # fmt: skip
METRICS = ("test/usage", "test/perplexity", "test/recon_mse")


def run_one(lever: str, seed: int, output_dir: Path, extra: list[str]) -> dict:
    """Train and test one row with one seed; every ``test/*`` metric as a float, and the
    validation curve ``[[step, val/recon_mse], ...]`` when ``extra`` turns the CSV logger on."""
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        config = compose(
            "train",
            overrides=[
                "experiment=collapse_ablation",
                f"lever={lever}",
                f"seed={seed}",
                "logger=none",
                f"paths.output_dir={output_dir}",
                "trainer.enable_progress_bar=false",
                "trainer.enable_model_summary=false",
                *extra,
            ],
        )
    metrics = train(config)
    record = {name: float(value) for name, value in metrics.items() if name.startswith("test/")}
    logs = sorted(output_dir.glob("csv/**/metrics.csv"))
    if logs:
        record["val_curve"] = val_curve(logs[-1])
    return record


def val_curve(path: Path) -> list[list[float]]:
    """``[[step, val/recon_mse], ...]`` from a Lightning CSV log."""
    with path.open() as file:
        rows = list(csv.DictReader(file))
    return [
        [int(row["step"]), float(row["val/recon_mse"])] for row in rows if row.get("val/recon_mse")
    ]


def sizing(args: argparse.Namespace) -> list[str]:
    """Overrides that move the experiment onto ``args.data`` and size its network and run."""
    if args.data == "digits":
        return list(args.overrides)
    extra = [f"data={args.data}", "logger=csv", "callbacks.reconstruction_grid=null"]
    extra.append("callbacks.codebook_figures=null")
    if args.data_root is not None:
        extra.append(f"data.root={args.data_root}")
    if args.lr is not None:
        extra.append(f"model.optimizer.lr={args.lr}")
    channels = ",".join(str(c) for c in args.hidden_channels)
    extra += [
        f"model.encoder.hidden_channels=[{channels}]",
        f"model.encoder.residual_channels={args.residual_channels}",
        f"model.encoder.num_residual_blocks={args.residual_blocks}",
        f"trainer.max_steps={args.max_steps}",
        "trainer.max_epochs=-1",
        f"trainer.val_check_interval={args.val_every}",
        "trainer.check_val_every_n_epoch=null",
        f"trainer.limit_val_batches={args.limit_val_batches}",
        f"trainer.limit_test_batches={args.limit_test_batches}",
        f"tags=[collapse_ablation,{args.data}]",
    ]
    if args.lr_schedule == "cosine":  # lr to 0 over the run: the val curve flattens by the end
        extra += [
            "model.scheduler={_target_: torch.optim.lr_scheduler.CosineAnnealingLR,"
            f" _partial_: true, T_max: {args.max_steps}}}",
            "model.scheduler_interval=step",
        ]
    return extra + args.overrides


def load(path: Path) -> list[dict]:
    """The records written so far."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def summary(values: list[float], digits: int) -> str:
    """``mean ± std`` (std over seeds; none for one seed)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def report(records: list[dict], figure: Path, data: str) -> None:
    """Print the markdown table and draw usage vs recon MSE."""
    images = any("test/psnr" in r for r in records)
    head = "| lever | runs | test usage | test perplexity | test recon MSE |"
    print(head + (" test PSNR | test SSIM |" if images else "") + " minutes/run |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |" + (" ---: | ---: |" if images else ""))
    for lever in LEVERS:
        rows = [r for r in records if r["lever"] == lever]
        if not rows:
            continue
        usage = summary([r["test/usage"] for r in rows], 3)
        perplexity = summary([r["test/perplexity"] for r in rows], 1)
        mse = summary([r["test/recon_mse"] for r in rows], 4)
        minutes = statistics.fmean(r["seconds"] for r in rows) / 60
        quality = ""
        if images:
            psnr = summary([r["test/psnr"] for r in rows], 2)
            quality = f" {psnr} | {summary([r['test/ssim'] for r in rows], 3)} |"
        row = f"| {lever} | {len(rows)} | {usage} | {perplexity} | {mse} |{quality}"
        print(f"{row} {minutes:.1f} |")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    for number, lever in enumerate(LEVERS):
        rows = [r for r in records if r["lever"] == lever]
        if rows:
            marker = "os^vD<>phX*P"[number % 12]
            ax.scatter(
                [r["test/recon_mse"] for r in rows],
                [r["test/usage"] for r in rows],
                label=lever,
                marker=marker,
                color=plt.get_cmap("tab20")(number),
            )
    ax.set_xlabel("test reconstruction MSE")
    ax.set_ylabel("test code usage (fraction of 512)")
    ax.set_title(f"Levers against collapse: {data}, K = 512, d = 64")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))  # off the points
    fig.tight_layout()
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=120)
    print(f"\nplot: {figure.relative_to(ROOT) if figure.is_relative_to(ROOT) else figure}")


def main() -> None:
    """Run the missing (lever, seed) pairs, then report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levers", nargs="+", default=list(LEVERS), choices=LEVERS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--results", type=Path, help="default: results/collapse_ablation[_DATA]")
    parser.add_argument("--figure", type=Path, help="default: figures/collapse_ablation[_DATA]")
    parser.add_argument("--data", choices=("digits", "mnist", "photos"), default="digits")
    parser.add_argument("--data-root", help="data.root (mnist: the folder holding MNIST/raw)")
    parser.add_argument("--max-steps", type=int, default=3000, help="mnist / photos only")
    parser.add_argument("--val-every", type=int, default=250, help="training steps per val")
    parser.add_argument("--limit-val-batches", type=int, default=20)
    parser.add_argument("--limit-test-batches", type=int, default=40)
    parser.add_argument("--hidden-channels", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--residual-channels", type=int, default=32)
    parser.add_argument("--residual-blocks", type=int, default=1)
    parser.add_argument("--lr", type=float, help="Adam learning rate (default: the config's 2e-3)")
    parser.add_argument("--lr-schedule", choices=("constant", "cosine"), default="constant")
    parser.add_argument("--overrides", nargs="*", default=[], help="more Hydra overrides")
    parser.add_argument("--report", action="store_true", help="only print the table and plot")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 rows, 1 seed, 3 steps")
    args = parser.parse_args()
    stem = "collapse_ablation" + ("" if args.data == "digits" else f"_{args.data}")
    args.results = args.results or ROOT / f"experiments/results/{stem}.jsonl"
    args.figure = args.figure or ROOT / f"experiments/figures/{stem}.png"
    extra = sizing(args)
    if args.quick:  # the committed results and figure stay as they are
        args.levers, args.seeds = ["ste", "ema_kmeans_respawn"], [1]
        quick_dir = Path(tempfile.mkdtemp(prefix="vqlab_ablation_"))
        args.results, args.figure = quick_dir / "results.jsonl", quick_dir / "figure.png"
        extra += [
            "trainer.max_epochs=1",
            "trainer.limit_train_batches=3",
            "trainer.limit_val_batches=1",
        ]
    torch.set_num_threads(args.threads)
    if not args.report:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        done = {(r["lever"], r["seed"]) for r in load(args.results)}
        for lever in args.levers:
            for seed in args.seeds:
                if (lever, seed) in done:
                    continue
                start = time.perf_counter()
                with tempfile.TemporaryDirectory() as directory:
                    metrics = run_one(lever, seed, Path(directory), extra)
                record = {"lever": lever, "seed": seed, **metrics}
                record["seconds"] = time.perf_counter() - start
                with args.results.open("a") as file:
                    file.write(json.dumps(record) + "\n")
                print(json.dumps(record), flush=True)
    report(load(args.results), args.figure, args.data)


if __name__ == "__main__":
    main()
