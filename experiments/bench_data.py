"""Throughput of the device-resident path against the DataLoader path on MNIST-sized data.

Run from the repository root: ``python -m experiments.bench_data [--steps 200] [--threads 1]
[--device cuda]`` (``--quick``: 1000 images, 2 steps). Writes a random 60000 x 28 x 28 uint8
training set as MNIST idx files into a temporary folder, then prints

- samples/s of one training epoch of batches (scaled to [-1, 1], as the model receives them),
- steps/s of training ``vqvae_ema`` (conf/model/vqvae_ema.yaml) for ``--steps`` steps,

for the device-resident path and the DataLoader path (0 and 2 worker processes).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from experiments.timing import add_device_argument, checked_device, device_line, timed
from tests.fake_datasets import write_mnist
from vqlab.data import MNISTDataModule

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
PATHS = {
    "device-resident": ("true", 0),
    "DataLoader, 0 workers": ("false", 0),
    "DataLoader, 2 workers": ("false", 2),
}


def datamodule(
    root: str, in_memory: str, num_workers: int, batch_size: int, val_fraction: float = 0.001
) -> MNISTDataModule:
    """MNIST with ``val_fraction=0`` wouldn't split; a tiny val keeps 59940 training samples."""
    return MNISTDataModule(
        root,
        val_fraction=val_fraction,
        batch_size=batch_size,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        in_memory=in_memory,
        seed=0,
    )


def epoch_samples_per_second(data: MNISTDataModule, device: torch.device) -> float:
    """Samples/s of one pass over the training batches on ``device``, scaled as the model
    receives them."""

    def epoch() -> int:
        count = 0
        for images, labels in data.train_dataloader():
            batch = (images.to(device, non_blocking=True), labels.to(device, non_blocking=True))
            count += len(data.on_after_batch_transfer(batch, 0)[0])
        return count

    seconds, count = timed(epoch, device)
    return count / seconds


def make_trainer(steps: int, device: torch.device) -> L.Trainer:
    """A bare Trainer on ``device``: no validation, logging or checkpoints."""
    return L.Trainer(
        max_steps=steps,
        accelerator="gpu" if device.type == "cuda" else "cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
    )


def training_steps_per_second(data: MNISTDataModule, trainer: L.Trainer, steps: int) -> float:
    """Steps/s of ``vqvae_ema`` training with ``trainer`` (from :func:`make_trainer`)."""
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=["data=mnist", "model=vqvae_ema"])
    model = instantiate(cfg.model)
    seconds, _ = timed(lambda: trainer.fit(model, datamodule=data), trainer.strategy.root_device)
    return steps / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    add_device_argument(parser)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1000 images, 2 steps")
    args = parser.parse_args()
    num_train, num_test, val_fraction = 60000, 1000, 0.001
    if args.quick:
        num_train, num_test, val_fraction, args.steps = 1000, 100, 0.1, 2
    torch.set_num_threads(args.threads)
    device = checked_device(args.device)
    L.seed_everything(0, verbose=False)
    with tempfile.TemporaryDirectory() as root:
        write_mnist(Path(root), num_train=num_train, num_test=num_test)
        print(f"{device_line(device)}\nbatch size {args.batch_size}, {args.steps} training steps")
        print("| path | setup s | batches: samples/s | vqvae_ema: steps/s |")
        print("| --- | --- | --- | --- |")
        for name, (in_memory, workers) in PATHS.items():
            data = datamodule(root, in_memory, workers, args.batch_size, val_fraction)
            trainer = make_trainer(args.steps, device)
            data.trainer = trainer  # setup puts the device-resident path on the trainer's device
            setup, _ = timed(lambda data=data: data.setup("fit"), device)
            samples = epoch_samples_per_second(data, device)
            steps = training_steps_per_second(data, trainer, args.steps)
            print(f"| {name} | {setup:.1f} | {samples:,.0f} | {steps:.1f} |", flush=True)
        print(f"load average after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
