"""Benchmark training throughput: ``python -m vqlab.train``'s run against a bare PyTorch loop.

For each dataset, the run is built exactly as the command line builds it (``vqlab.train.build``:
model, datamodule, callbacks, loggers and Trainer from the composed config, ``--overrides`` added)
and trained for ``--steps`` steps with validation off; a callback times the steps after the first
``--warmup``. The bare loop is the same model (same seed), the same datamodule's batches through
its ``on_after_batch_transfer`` hook and the same optimizer, in a plain loop: ``model.step`` (the
forward and the loss terms), ``backward``, ``optimizer.step``, ``zero_grad`` -- no logging, no
usage window, no callbacks. Contenders alternate ``--repeats`` times in one process; the table
gives median steps/s and the ratio (bare / run: the run's cost per step as a multiple of the
bare loop's). The device name and the load average are printed with it.

Run from the repository root: ``python -m experiments.bench_training`` (``--quick``: a few steps;
``--data digits photos mnist`` with ``--overrides data.root=...`` where the data needs files).
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

from experiments.timing import add_device_argument, checked_device, device_line, synchronize
from vqlab.config.location import config_dir
from vqlab.config.resolvers import register_resolvers
from vqlab.train import build


class StepTimer(L.Callback):
    """Wall time from the start of training batch ``warmup`` to the end of the last one."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.start: float | None = None
        self.steps = 0
        self.seconds = 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.warmup and self.start is None:
            synchronize(pl_module.device)
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.start is not None:
            synchronize(pl_module.device)
            self.steps += 1
            self.seconds = time.perf_counter() - self.start


def compose_run(overrides: list[str], directory: Path):
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        return compose(
            "train",
            overrides=[
                f"paths.root_dir={directory}",
                f"paths.output_dir={directory}",
                "trainer.limit_val_batches=0",
                "trainer.max_epochs=-1",
                "trainer.enable_progress_bar=false",
                "trainer.enable_model_summary=false",
                "logger=csv",
                *overrides,
            ],
        )


def run_steps_per_second(cfg, steps: int, warmup: int) -> float:
    """Steps/s of the command line's run (``vqlab.train.build``) after ``warmup`` steps."""
    cfg.trainer.max_steps = steps + warmup
    run = build(cfg)
    timer = StepTimer(warmup)
    run.trainer.callbacks.append(timer)
    run.trainer.fit(run.model, datamodule=run.datamodule)
    return timer.steps / timer.seconds


def bare_steps_per_second(cfg, steps: int, warmup: int, device: torch.device) -> float:
    """Steps/s of a plain loop over the same model, batches and optimizer on ``device``."""
    L.seed_everything(cfg.seed, verbose=False)
    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model).to(device).train()
    # a Trainer only to tell the datamodule its device (device-resident data is put there)
    datamodule.trainer = instantiate(cfg.trainer, logger=False, callbacks=[], plugins=[])
    datamodule.setup("fit")
    optimizer = model.configure_optimizers()["optimizer"]
    done, start = 0, 0.0
    while done < steps + warmup:
        for batch in datamodule.train_dataloader():
            if done == warmup:
                synchronize(device)
                start = time.perf_counter()
            batch = [tensor.to(device, non_blocking=True) for tensor in batch]
            batch = datamodule.on_after_batch_transfer(batch, 0)
            model.step(batch, "train").loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            done += 1
            if done == steps + warmup:
                break
    synchronize(device)
    return steps / (time.perf_counter() - start)


def main(arguments: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["digits", "photos"])
    parser.add_argument("--overrides", nargs="*", default=[], help="e.g. model=vqvae_ste")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    add_device_argument(parser)
    parser.add_argument("--quick", action="store_true", help="10 steps, 1 repeat, digits")
    args = parser.parse_args(arguments)
    if args.quick:
        args.data, args.steps, args.warmup, args.repeats = ["digits"], 10, 2, 1
    device = checked_device(args.device)
    accelerator = "gpu" if device.type == "cuda" else "cpu"
    register_resolvers()
    print(device_line(device))
    print("| data | model | run steps/s | bare steps/s | run cost / bare |")
    print("| --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as directory:
        for data in args.data:
            overrides = [f"data={data}", f"trainer.accelerator={accelerator}", *args.overrides]
            cfg = compose_run(overrides, Path(directory) / data)
            run, bare = [], []
            for _ in range(args.repeats):
                run.append(run_steps_per_second(cfg.copy(), args.steps, args.warmup))
                bare.append(bare_steps_per_second(cfg, args.steps, args.warmup, device))
            run_rate, bare_rate = statistics.median(run), statistics.median(bare)
            model = cfg.model._target_.rsplit(".", 1)[-1]
            print(
                f"| {data} | {model} | {run_rate:.1f} | {bare_rate:.1f} | "
                f"{bare_rate / run_rate:.2f}x |"
            )
    print(f"load after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
