"""The default recipe (k-means init + dead-code respawn) against the bare VQ-VAE on the digits.

For each seed, ``python -m vqlab.train`` is run twice in-process with the default model
(``vqvae_ema``, K = 128, 20 epochs): ``callbacks=default`` and ``callbacks=plain``. Printed: the
test split's code usage, perplexity and reconstruction MSE of the best checkpoint, per seed and
as mean +- std.

Run from the repository root: ``python -m experiments.codebook_health``
(``--quick``: one seed, one epoch, a few batches).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from hydra import compose, initialize_config_dir

from vqlab.train import train

CONFIG_DIR = Path(__file__).resolve().parents[1] / "conf"
RECIPES = {"default (k-means + respawn)": "callbacks=default", "plain": "callbacks=plain"}
METRICS = ("test/usage", "test/perplexity", "test/recon_mse")


def run(recipe: str, seed: int, extra: list[str], root: Path) -> dict[str, float]:
    run_dir = root / f"{recipe.split('=')[1]}_{seed}"
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                recipe,
                f"seed={seed}",
                "logger=none",
                f"paths.root_dir={run_dir}",
                f"paths.output_dir={run_dir}",
                *extra,
            ],
        )
    metrics = train(cfg)
    return {name: float(metrics[name]) for name in METRICS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1265, 1, 2])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    extra = ["++trainer.enable_progress_bar=false", "++trainer.enable_model_summary=false"]
    if args.quick:
        args.seeds = args.seeds[:1]
        extra += ["trainer.max_epochs=1", "trainer.limit_train_batches=3"]
    rows = {name: [] for name in RECIPES}
    with tempfile.TemporaryDirectory() as root:
        for seed in args.seeds:
            for name, recipe in RECIPES.items():
                result = run(recipe, seed, extra, Path(root))
                rows[name].append(result)
                print(
                    f"seed {seed} {name}: " + ", ".join(f"{k} {v:.4f}" for k, v in result.items())
                )
    print("\n| callbacks | test usage | test perplexity (of 128) | test recon MSE |")
    print("| --- | --- | --- | --- |")
    for name, results in rows.items():
        cells = []
        for metric in METRICS:
            values = [result[metric] for result in results]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.4f} +- {spread:.4f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
