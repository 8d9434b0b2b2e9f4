"""How far is the HC-VQ loss under a reused (stale) persistence pairing from the fresh one?

vqlab refreshes the codebook's persistence pairing every ``pairing_every`` training steps and, in
between, evaluates the last pairing on the current codebook (DESIGN "Cost"; the reference pairs
afresh at every forward). This trains ``experiment=hcvq_digits`` (K = 128, synchronous pairing,
``period`` = ``--period`` so the term is on for most of the run) and, at every training step,
before the backward, compares the homology loss ``(b1 - 100)^2 + 1e4 (eps0 - 0.5)^2`` the step
used with the loss of a pairing computed afresh on the same codebook. Reported: the median and
maximum relative gap ``|L_stale - L_fresh| / L_fresh`` over the steps, and the same for b1 and
eps0, for each ``pairing_every``.

Run from the repository root:

    PYTHONPATH=. python -m experiments.hcvq_stale_pairing --steps 300 --every 1 10 25
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from vqlab.topology import Pairing, paired_homology_loss

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


class StaleGap(L.Callback):
    """Relative gaps between the stale-pairing and fresh-pairing loss, b1 and eps0, per step."""

    def __init__(self) -> None:
        self.gaps: dict[str, list[float]] = {"loss": [], "b1": [], "eps0": []}

    def on_before_backward(self, trainer: L.Trainer, pl_module: Any, loss: Any) -> None:
        hcvq = pl_module.hcvq
        codebook = pl_module.quantizer.codebook.detach()
        with torch.no_grad():
            stale = paired_homology_loss(hcvq.homology, hcvq.pairing.pairing, codebook)
            fresh = paired_homology_loss(hcvq.homology, Pairing.compute(codebook), codebook)
        for name in self.gaps:
            value, reference = float(getattr(stale, name)), float(getattr(fresh, name))
            self.gaps[name].append(abs(value - reference) / max(abs(reference), 1e-12))


def run(pairing_every: int, steps: int, period: int, seed: int) -> dict[str, list[float]]:
    """Train one setting; return the per-step relative gaps."""
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        config = compose(
            "train",
            overrides=[
                "experiment=hcvq_digits",
                f"seed={seed}",
                f"model.hcvq.period={period}",
                f"model.hcvq.pairing_every={pairing_every}",
                "model.hcvq.asynchronous=false",
            ],
        )
    L.seed_everything(seed, workers=True)
    datamodule, model, gap = instantiate(config.data), instantiate(config.model), StaleGap()
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        callbacks=[gap],
    )
    trainer.fit(model, datamodule=datamodule)
    model.hcvq.close()
    return gap.gaps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--period", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--every", type=int, nargs="+", default=[1, 10, 25])
    parser.add_argument("--quick", action="store_true", help="smoke run: 12 steps, period 4")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.period, args.every = 12, 4, [1, 4]
    torch.set_num_threads(1)
    print(f"load average before: {os.getloadavg()}")
    print("| pairing_every | loss: median gap | loss: max gap | b1: median | eps0: median |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for every in args.every:
        gaps = run(every, args.steps, args.period, args.seed)
        print(
            f"| {every} | {statistics.median(gaps['loss']):.2e} | {max(gaps['loss']):.2e} "
            f"| {statistics.median(gaps['b1']):.2e} | {statistics.median(gaps['eps0']):.2e} |",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
