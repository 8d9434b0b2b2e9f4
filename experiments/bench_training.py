"""Benchmark training throughput: ``python -m vqlab.train``'s run against a bare PyTorch loop.

For each case (``--data``), the run is built exactly as the command line builds it
(``vqlab.train.build``: model, datamodule, callbacks, loggers and Trainer from the composed config,
``--overrides`` added) and trained for ``--steps`` steps with validation off; a callback times the
steps after the first ``--warmup``. The bare loop is the same model (same seed, same speed
options), the same datamodule's batches (moved to the device, then its ``on_after_batch_transfer``
hook) and the same optimizer, in a plain loop -- no logging, no usage window, no callbacks:

- automatic optimisation (the image models): ``model.step`` (the forward and the loss terms),
  ``backward``, ``optimizer.step``, ``zero_grad``;
- the linear VQ lab (manual optimisation): the model's own ``evaluate`` and ``descend`` (gradients
  by autograd or by hand, tangent projection of ``W``'s gradient, SGD step, retraction), after the
  same PCA + k-means start (``LinearVQ.initialize`` on the training rows) that ``LinearVQStart``
  runs before the first step.

Cases: ``digits`` (8x8, the default VQ-VAE), ``mnist`` (28x28, the real files under
``--data-root``), ``photos`` (32x32 RGB) and ``linear_vq`` (``model=linear_vq`` on
``data=gaussian_subspace``). Variants of the image cases: ``--channels-last`` and ``--compile``
add rows with ``channels_last=true`` / ``compile=true`` (both flags: also the two together),
applied to the run and the bare loop alike. Contenders alternate ``--repeats`` times in one
process; the table gives median steps/s, the run's cost per step as a multiple of the bare loop's
(bare / run), and each variant's run speed over the plain run's. The device name and the load
average are printed with it.

Run from the repository root: ``python -m experiments.bench_training`` (``--quick``: a few steps
of digits and linear_vq; ``--data mnist --data-root /data/mnist``; ``--device cuda``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
import torch._dynamo
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from experiments.timing import add_device_argument, checked_device, device_line, synchronize
from vqlab.callbacks.linear_vq_start import training_rows
from vqlab.config.location import config_dir
from vqlab.config.resolvers import register_resolvers
from vqlab.models import LinearVQ
from vqlab.models.acceleration import accelerate
from vqlab.train import build

CASES = {
    "digits": ["data=digits"],
    "mnist": ["data=mnist"],
    "photos": ["data=photos"],
    "linear_vq": ["model=linear_vq", "data=gaussian_subspace"],
}
IMAGE_CASES = ("digits", "mnist", "photos")


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
    torch._dynamo.reset()  # a fresh compile per model: no recompile limit across repeats
    cfg.trainer.max_steps = steps + warmup
    run = build(cfg)
    timer = StepTimer(warmup)
    run.trainer.callbacks.append(timer)
    run.trainer.fit(run.model, datamodule=run.datamodule)
    return timer.steps / timer.seconds


def bare_model(cfg, datamodule: L.LightningDataModule, device: torch.device):
    """The run's model on ``device`` with its speed options and its optimizer; a linear VQ lab
    model gets its PCA + k-means start, and plain-torch stand-ins for the two Lightning calls of
    its manual step (``optimizers``, ``manual_backward``)."""
    model = instantiate(cfg.model).to(device).train()
    accelerate(model, compile=cfg.compile, channels_last=cfg.channels_last)
    optimizer = model.configure_optimizers()["optimizer"]
    if isinstance(model, LinearVQ):
        transfer = batch_transfer(datamodule, device)
        model.initialize(training_rows(datamodule.train_dataloader(), transfer))
        model.optimizers = lambda: optimizer
        model.manual_backward = lambda loss: loss.backward()
    return model, optimizer


def batch_transfer(datamodule: L.LightningDataModule, device: torch.device):
    """A loader's batch on ``device`` through the datamodule's ``on_after_batch_transfer``."""

    def transfer(batch):
        batch = [tensor.to(device, non_blocking=True) for tensor in batch]
        return datamodule.on_after_batch_transfer(batch, 0)

    return transfer


def bare_step(model, optimizer: torch.optim.Optimizer, batch) -> None:
    """One optimisation step of ``model`` with no Lightning around it (see the module doc)."""
    if isinstance(model, LinearVQ):
        x = batch[0]
        with torch.set_grad_enabled(model.uses_autograd):
            out, step = model.evaluate(x)
        model.descend(x, out, step.loss)
        return
    model.step(batch, "train").loss.backward()
    optimizer.step()
    optimizer.zero_grad()


def bare_steps_per_second(cfg, steps: int, warmup: int, device: torch.device) -> float:
    """Steps/s of a plain loop over the same model, batches and optimizer on ``device``."""
    torch._dynamo.reset()
    L.seed_everything(cfg.seed, verbose=False)
    datamodule = instantiate(cfg.data)
    # a Trainer only to tell the datamodule its device (device-resident data is put there)
    datamodule.trainer = instantiate(cfg.trainer, logger=False, callbacks=[], plugins=[])
    datamodule.setup("fit")
    model, optimizer = bare_model(cfg, datamodule, device)
    transfer = batch_transfer(datamodule, device)
    done, start = 0, 0.0
    while done < steps + warmup:
        for batch in datamodule.train_dataloader():
            if done == warmup:
                synchronize(device)
                start = time.perf_counter()
            bare_step(model, optimizer, transfer(batch))
            done += 1
            if done == steps + warmup:
                break
    synchronize(device)
    return steps / (time.perf_counter() - start)


def variants(args: argparse.Namespace, case: str) -> dict[str, list[str]]:
    """``{variant: overrides}``: plain, and the speed options asked for (image cases only)."""
    chosen = {"plain": []}
    if case not in IMAGE_CASES:
        return chosen
    if args.channels_last:
        chosen["channels_last"] = ["channels_last=true"]
    if args.compile:
        chosen["compile"] = ["compile=true"]
    if args.channels_last and args.compile:
        chosen["channels_last + compile"] = ["channels_last=true", "compile=true"]
    return chosen


def parse_args(arguments: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", choices=list(CASES), default=["digits", "photos"])
    parser.add_argument("--data-root", help="data.root of the cases that read files (mnist)")
    parser.add_argument("--overrides", nargs="*", default=[], help="e.g. model=vqvae_ste")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--channels-last", action="store_true", help="add channels_last rows")
    parser.add_argument("--compile", action="store_true", help="add torch.compile rows")
    add_device_argument(parser)
    parser.add_argument("--quick", action="store_true", help="10 steps, 1 repeat, digits + linear")
    args = parser.parse_args(arguments)
    if args.quick:
        args.data, args.steps, args.warmup, args.repeats = ["digits", "linear_vq"], 10, 2, 1
    if "mnist" in args.data and args.data_root is None:
        parser.error("--data mnist needs --data-root DIR (the folder holding MNIST/raw/)")
    return args


def main(arguments: list[str] | None = None) -> None:
    args = parse_args(arguments)
    device = checked_device(args.device)
    accelerator = "gpu" if device.type == "cuda" else "cpu"
    register_resolvers()
    print(device_line(device))
    print(
        "| data | model | variant | run steps/s | bare steps/s | run cost / bare "
        "| run / plain run |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as directory:
        for case in args.data:
            root = [f"data.root={args.data_root}"] if case == "mnist" else []
            plain_rate = None
            for variant, options in variants(args, case).items():
                overrides = [*CASES[case], *root, f"trainer.accelerator={accelerator}"]
                cfg = compose_run([*overrides, *options, *args.overrides], Path(directory) / case)
                run, bare = [], []
                for _ in range(args.repeats):
                    run.append(run_steps_per_second(cfg.copy(), args.steps, args.warmup))
                    bare.append(bare_steps_per_second(cfg, args.steps, args.warmup, device))
                run_rate, bare_rate = statistics.median(run), statistics.median(bare)
                plain_rate = plain_rate or run_rate
                model = cfg.model._target_.rsplit(".", 1)[-1]
                print(
                    f"| {case} | {model} | {variant} | {run_rate:.1f} | {bare_rate:.1f} | "
                    f"{bare_rate / run_rate:.2f}x | {run_rate / plain_rate:.2f}x |",
                    flush=True,
                )
    print(device_line(device))


if __name__ == "__main__":
    main()
