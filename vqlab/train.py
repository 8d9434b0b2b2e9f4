"""Train and test a model from Hydra configs: ``python -m vqlab.train [overrides]``.

``python -m vqlab.train --help`` lists the config groups; ``-m`` sweeps (one directory and one W&B
run per job). Returns ``optimized_metric`` so that sweepers can optimise it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import wandb
from hydra.utils import instantiate
from lightning.pytorch.loggers import WandbLogger
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.syntax import Syntax

from vqlab.cli_errors import check_group_options, one_line_errors
from vqlab.resolvers import register_resolvers
from vqlab.sweep_metric import optimized_value

register_resolvers()
CONFIG_DIR = Path(__file__).resolve().parents[1] / "conf"


def check_fresh_output_dir(arguments: list[str]) -> None:
    """A new run never writes into an existing run or sweep directory.

    Default directories are unique (time to the microsecond); this refuses an explicit
    ``hydra.run.dir`` / ``hydra.sweep.dir`` that is not empty, before Hydra writes its config
    there. DDP workers (``LOCAL_RANK`` > 0), which Lightning starts in the same directory, skip it.
    """
    if int(os.environ.get("LOCAL_RANK", "0")) > 0:
        return
    for argument in arguments:
        key, _, value = argument.partition("=")
        directory = Path(value)
        if (
            key in ("hydra.run.dir", "hydra.sweep.dir")
            and directory.is_dir()
            and any(directory.iterdir())
        ):
            raise FileExistsError(
                f"{key}={value} already holds a run: choose a new directory (to resume, pass "
                "ckpt_path=<run>/checkpoints/last.ckpt and let the new run get its own)"
            )


def train(cfg: DictConfig) -> dict[str, Any]:
    """Seed, instantiate data, model, callbacks, loggers and trainer; fit; test the best model."""
    L.seed_everything(cfg.seed, workers=True)
    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model)
    # a node set to null (`callbacks.respawn=null`, or by a config) switches that callback off
    callbacks = [instantiate(node) for node in (cfg.get("callbacks") or {}).values() if node]
    loggers = [instantiate(node) for node in (cfg.get("logger") or {}).values()]
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    try:
        for logger in loggers:
            logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
        if cfg.train:
            trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
        metrics = dict(trainer.callback_metrics)
        if cfg.test:
            checkpoint = trainer.checkpoint_callback
            best = checkpoint.best_model_path if checkpoint else ""
            trainer.test(model, datamodule=datamodule, ckpt_path=best or None)
            metrics.update(trainer.callback_metrics)
    finally:
        # each multirun job gets its own W&B run: close this one before the next job starts
        if any(isinstance(logger, WandbLogger) for logger in loggers):
            wandb.finish()
    return metrics


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Command-line entry point; see the module docstring."""
    Console().print(Syntax(OmegaConf.to_yaml(cfg, resolve=True), "yaml"))
    with one_line_errors():
        return optimized_value(train(cfg), cfg.get("optimized_metric"))


def cli() -> None:
    """``python -m vqlab.train`` / ``vqlab-train``: check the arguments, then run Hydra."""
    with one_line_errors():
        check_group_options(sys.argv[1:], CONFIG_DIR)
        check_fresh_output_dir(sys.argv[1:])
    main()


if __name__ == "__main__":
    cli()
