"""The collapse ablation: every lever of ``conf/lever/`` x seeds -> test usage, perplexity, MSE.

Each (lever, seed) is ``python -m vqlab.train experiment=collapse_ablation lever=LEVER seed=SEED``
(the same configs as the Hydra multirun), run in this process one after the other, with torch on
one intra-op thread (``--threads``: on a shared 2-core machine two threads spin against each other
and run ~30x slower). Results are appended to ``--results`` (JSON lines), so a second invocation
skips what is done; ``--report`` only prints the table and draws the plot.

Run from the repository root:

    PYTHONPATH=. python experiments/collapse_ablation.py --seeds 1 2 3
    PYTHONPATH=. python experiments/collapse_ablation.py --report

Table: mean ± std over seeds of the test split's code usage (fraction of the 512 codes of each
codebook used at least once; the mean over codebooks for grouped / residual), perplexity
(exp of the code-histogram entropy; over the concatenated histograms for several codebooks) and
reconstruction MSE (images in [-1, 1]). Plot: usage against recon MSE, one point per run.
"""

from __future__ import annotations

import argparse
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
    "ste", "rotation", "ema", "cosine", "lowdim", "simvq", "entropy",
    "grouped", "residual2", "residual4", "growth", "ema_kmeans_respawn",
    "fsq", "lfq", "affine", "orthogonal", "cvq", "curriculum",
)  # fmt: skip
METRICS = ("test/usage", "test/perplexity", "test/recon_mse")


def run_one(lever: str, seed: int, output_dir: Path, extra: list[str]) -> dict[str, float]:
    """Train and test one row with one seed; every ``test/*`` metric as a float."""
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
    return {name: float(value) for name, value in metrics.items() if name.startswith("test/")}


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


def report(records: list[dict], figure: Path) -> None:
    """Print the markdown table and draw usage vs recon MSE."""
    print("| lever | runs | test usage | test perplexity | test recon MSE | minutes/run |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for lever in LEVERS:
        rows = [r for r in records if r["lever"] == lever]
        if not rows:
            continue
        usage = summary([r["test/usage"] for r in rows], 3)
        perplexity = summary([r["test/perplexity"] for r in rows], 1)
        mse = summary([r["test/recon_mse"] for r in rows], 4)
        minutes = statistics.fmean(r["seconds"] for r in rows) / 60
        print(f"| {lever} | {len(rows)} | {usage} | {perplexity} | {mse} | {minutes:.1f} |")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
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
    ax.set_title("Levers against collapse: digits, K = 512, d = 64")
    ax.legend(fontsize=7, ncol=2)
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
    parser.add_argument(
        "--results", type=Path, default=ROOT / "experiments/results/collapse_ablation.jsonl"
    )
    parser.add_argument(
        "--figure", type=Path, default=ROOT / "experiments/figures/collapse_ablation.png"
    )
    parser.add_argument("--report", action="store_true", help="only print the table and plot")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 rows, 1 seed, 3 steps")
    args = parser.parse_args()
    extra = []
    if args.quick:  # the committed results and figure stay as they are
        args.levers, args.seeds = ["ste", "ema_kmeans_respawn"], [1]
        quick_dir = Path(tempfile.mkdtemp(prefix="vqlab_ablation_"))
        args.results, args.figure = quick_dir / "results.jsonl", quick_dir / "figure.png"
        extra = [
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
    report(load(args.results), args.figure)


if __name__ == "__main__":
    main()
