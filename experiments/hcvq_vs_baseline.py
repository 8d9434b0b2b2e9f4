"""Does HC-VQ raise codebook use? The term on (both entropy definitions) and off, several seeds.

Run from the repository root (~5 minutes on 2 CPU cores):

    python -m experiments.hcvq_vs_baseline --seeds 0 1 2 --steps 600

(``--quick``: seed 0, 4 steps, period 2.)

CPU-sized setting: ``experiment=hcvq_digits`` (8x8 digits, vqlab's small conv net, 4x4 latents of
d = 16, K = 128 straight-through codebook, Adam 8e-4, batch 64) for ``--steps`` training steps, with
``period`` = ``--period`` (the reference's 200 would switch the term on only a third of the way in)
and a synchronous pairing refreshed every 10 steps. Reported on the test split: perplexity and
usage of the codes, reconstruction MSE; of the final codebook: persistent entropy of the H0 deaths
and of the H1 persistences. Mean ± std over seeds.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from vqlab.functional import entropy
from vqlab.topology import persistent_entropy, vietoris_rips_diagrams

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
VARIANTS = {
    "off (baseline)": ["model.hcvq.enabled=false"],
    "on, entropy=reference": ["model.hcvq.entropy=reference"],
    "on, entropy=usage": ["model.hcvq.entropy=usage"],
}


def run(overrides: list[str], seed: int, steps: int, period: int) -> dict[str, float]:
    """Train one configuration; return its test-split and codebook metrics."""
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        config = compose(
            "train",
            overrides=[
                "experiment=hcvq_digits",
                f"seed={seed}",
                f"model.hcvq.period={period}",
                "model.hcvq.asynchronous=false",
                *overrides,
            ],
        )
    L.seed_everything(seed, workers=True)
    datamodule = instantiate(config.data)
    model = instantiate(config.model)
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
    )
    trainer.fit(model, datamodule=datamodule)
    model.eval()
    counts, squared_error, values = torch.zeros(model.quantizer.codebook_size), 0.0, 0
    with torch.no_grad():
        for x, *_ in datamodule.test_dataloader():
            x_hat, quantized = model(x)
            counts += quantized.counts
            squared_error += float((x_hat - x).pow(2).sum())
            values += x.numel()
    code_entropy = entropy(counts / counts.sum())
    h0, h1 = vietoris_rips_diagrams(model.quantizer.codebook.detach())
    model.hcvq.close()
    return {
        "perplexity": float(code_entropy.exp()),
        "usage": float((counts > 0).float().mean()),
        "recon MSE": squared_error / values,
        "PE(H0)": float(persistent_entropy(h0[:, 1])),
        "PE(H1)": float(persistent_entropy(h1[:, 1] - h1[:, 0])),
        "scale s": float(model.hcvq.entropy_scale.scale),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--period", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 seed, 4 steps")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.steps, args.period = [0], 4, 2
    torch.set_num_threads(1)
    rows = {}
    for name, overrides in VARIANTS.items():
        results = [run(overrides, seed, args.steps, args.period) for seed in args.seeds]
        rows[name] = {
            metric: (
                statistics.mean(r[metric] for r in results),
                statistics.stdev(r[metric] for r in results) if len(results) > 1 else 0.0,
            )
            for metric in results[0]
        }
    metrics = list(next(iter(rows.values())))
    print("| term | " + " | ".join(metrics) + " |")
    print("|---" * (len(metrics) + 1) + "|")
    for name, row in rows.items():
        cells = [f"{mean:.4g} ± {std:.2g}" for mean, std in row.values()]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
