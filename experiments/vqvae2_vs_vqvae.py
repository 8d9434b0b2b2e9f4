"""Does the two-level VQ-VAE-2 use more codes than a single-level VQ-VAE with as many codes?

Run from the repository root (~15 minutes on 2 loaded CPU cores):

    python -m experiments.vqvae2_vs_vqvae --seeds 0 1 2 --steps 700

Embedded 8x8 digits, EMA codebooks, Adam 2e-3, batch 64, ``--steps`` training steps, no
validation, the configs' defaults otherwise:

- ``model=vqvae_ema``: one 4x4 grid, K = 128 (16 codes x 7 bits = 112 bits per image);
- ``model=vqvae2``: a 4x4 bottom grid (K = 64) conditioned on a 2x2 top grid (K = 64):
  the same 128 codes in total (16 x 6 + 4 x 6 = 120 bits per image).

``--data photos``: 32x32 colour patches (``data=photos``), d = 64 per level, 64 channels:

- ``model=vqvae_ema``: one 8x8 grid of ``--single-size`` codes (K = 512: 64 x 9 = 576 bits);
- ``model=vqvae2``: an 8x8 bottom grid of ``--bottom-size`` codes under a 4x4 top grid of
  ``--top-size`` codes (256 and 16: 64 x 8 + 16 x 4 = 576 bits, the same code bits).

Test PSNR and SSIM (``vqlab.metrics.image_quality``, batch-size weighted) sit beside the MSE.

Each variant runs without callbacks (``--callbacks none``) and/or with the codebook callbacks of
``callbacks=default`` (``--callbacks default``: k-means init, dead-code respawn). Reported on the
test split: reconstruction MSE and, per level, the perplexity and the number of codes used; mean ±
std over seeds. One thread per process: on a shared machine, two OpenMP threads run many times
slower.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from vqlab.functional import entropy
from vqlab.metrics.image_quality import image_quality
from vqlab.models import VQVAE2
from vqlab.models.vqvae2 import TwoLevelOutput

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
MODELS = {"VQ-VAE, K = 128": "vqvae_ema", "VQ-VAE-2, K = 64 + 64": "vqvae2"}


def photo_models(single: int, top: int, bottom: int) -> dict[str, list[str]]:
    """Labels -> overrides of the two models on 32x32 photo patches (8x8 bottom, 4x4 top grid)."""
    return {
        f"VQ-VAE, 8x8 x K = {single}": [
            "model=vqvae_ema",
            "model.encoder.hidden_channels=[64,64]",
            "model.encoder.latent_dim=64",
            f"model.quantizer.codebook_size={single}",
        ],
        f"VQ-VAE-2, 4x4 x K = {top} + 8x8 x K = {bottom}": [
            "model=vqvae2",
            "model.encoder.channels=64",
            "model.encoder.bottom_stages=2",
            "model.encoder.top_stages=1",
            "model.encoder.latent_dim=64",
            f"model.top_quantizer.codebook_size={top}",
            f"model.bottom_quantizer.codebook_size={bottom}",
        ],
    }


def level_quantizers(model: L.LightningModule) -> dict[str, torch.nn.Module]:
    """The model's codebook quantizers by level name."""
    if isinstance(model, VQVAE2):
        return {"top": model.top_quantizer, "bottom": model.bottom_quantizer}
    return {"single": model.quantizer}


def evaluate(model: L.LightningModule, datamodule: L.LightningDataModule) -> dict[str, float]:
    """Test-split reconstruction MSE, and each level's perplexity and number of codes used."""
    model.eval()
    quantizers = level_quantizers(model)
    counts = {name: torch.zeros(q.codebook_size) for name, q in quantizers.items()}
    squared_error, values, images = 0.0, 0, 0
    quality = {"psnr": 0.0, "ssim": 0.0}
    with torch.no_grad():
        for batch in datamodule.test_dataloader():
            # the step Lightning runs on every batch (image datamodules scale uint8 there)
            x, *_ = datamodule.on_after_batch_transfer(batch, 0)
            x_hat, quantized = model(x)
            for name, value in image_quality(x_hat, x, datamodule.value_range).items():
                quality[name] += float(value) * len(x)
            images += len(x)
            level_counts = {"single": quantized.counts}
            if isinstance(quantized, TwoLevelOutput):
                level_counts = {"top": quantized.top.counts, "bottom": quantized.bottom.counts}
            for name, histogram in level_counts.items():
                counts[name] += histogram
            squared_error += float((x_hat - x).pow(2).sum())
            values += x.numel()
    result = {"recon MSE": squared_error / values}
    result |= {name.upper(): total / images for name, total in quality.items()}
    for name, histogram in counts.items():
        result[f"{name} perplexity"] = float(entropy(histogram / histogram.sum()).exp())
        result[f"{name} codes used"] = float((histogram > 0).sum())
    result["codes used (all levels)"] = sum(float((h > 0).sum()) for h in counts.values())
    return result


def run(overrides: list[str], seed: int, steps: int, callbacks: str) -> dict[str, float]:
    """Train one model (``model=...`` and its overrides) for ``steps`` steps; test-split metrics."""
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        config = compose(
            "train",
            overrides=[
                *overrides,
                f"seed={seed}",
                f"callbacks={callbacks}",
                # no run directory is written; the callbacks' paths need a value outside Hydra
                f"paths.output_dir={tempfile.gettempdir()}/vqlab_vqvae2_vs_vqvae",
            ],
        )
    L.seed_everything(seed, workers=True)
    datamodule = instantiate(config.data)
    model = instantiate(config.model)
    # the codebook callbacks only: no checkpoints, grids or validation in this measurement
    codebook_callbacks = [
        instantiate(node)
        for name, node in (config.get("callbacks") or {}).items()
        if name not in ("model_checkpoint", "finite_loss", "reconstruction_grid")
    ]
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=steps,
        logger=False,
        callbacks=codebook_callbacks,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
    )
    start = time.perf_counter()
    trainer.fit(model, datamodule=datamodule)
    seconds = time.perf_counter() - start
    return evaluate(model, datamodule) | {
        "parameters": float(sum(p.numel() for p in model.parameters())),
        "train seconds": seconds,
    }


def summary(results: list[dict[str, float]]) -> dict[str, str]:
    """``mean ± std`` of every metric over seeds."""
    cells = {}
    for metric in results[0]:
        values = [r[metric] for r in results]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        cells[metric] = f"{statistics.mean(values):.4g} ± {spread:.2g}"
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=700)
    # none: no callbacks; default: its codebook callbacks (k-means init, dead-code respawn) only
    parser.add_argument("--callbacks", nargs="+", default=["none"], choices=["none", "default"])
    parser.add_argument("--data", choices=("digits", "photos"), default="digits")
    parser.add_argument("--single-size", type=int, default=512, help="photos: single-level K")
    parser.add_argument("--top-size", type=int, default=16, help="photos: VQ-VAE-2 top K")
    parser.add_argument("--bottom-size", type=int, default=256, help="photos: VQ-VAE-2 bottom K")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 seed, 5 steps")
    args = parser.parse_args()
    models = {label: [f"model={name}"] for label, name in MODELS.items()}
    if args.data == "photos":
        models = photo_models(args.single_size, args.top_size, args.bottom_size)
        models = {label: ["data=photos", *o] for label, o in models.items()}
    if args.quick:
        args.seeds, args.steps = args.seeds[:1], 5
    torch.set_num_threads(1)
    print(f"load average before: {os.getloadavg()}", flush=True)
    for callbacks in args.callbacks:
        for label, overrides in models.items():
            results = []
            for seed in args.seeds:
                results.append(run(overrides, seed, args.steps, callbacks))
                print(f"{label}, callbacks={callbacks}, seed {seed}: {results[-1]}", flush=True)
            cells = summary(results)
            print(
                f"| {label} | callbacks={callbacks} | "
                + " | ".join(f"{metric}: {cell}" for metric, cell in cells.items())
                + " |",
                flush=True,
            )
    print(f"load average after: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
