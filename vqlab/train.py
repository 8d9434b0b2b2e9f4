"""Train and test a model from Hydra configs: ``python -m vqlab.train [overrides]``.

``python -m vqlab.train --help`` shows the usage, examples and config groups; ``-m`` sweeps (one
directory and one W&B run per job). Returns ``optimized_metric`` so that sweepers can optimise it;
a diverged sweep job is marked failed and the sweep goes on (``vqlab.cli.sweep_metric``).
Before Hydra creates a run directory, the overrides and the composed config are checked
(``vqlab.cli.preflight``): bad input ends with one line ``vqlab: error: ...`` and exit status 1.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import wandb
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from lightning.pytorch.loggers import Logger, WandbLogger
from omegaconf import DictConfig, OmegaConf

from vqlab.callbacks.graceful_stop import GracefulStop
from vqlab.cli.checkpoint import check_checkpoint
from vqlab.cli.console import console_callbacks, final_table, log_run_header, quiet_console
from vqlab.cli.one_line import check_group_options, one_line_errors
from vqlab.cli.preflight import preflight
from vqlab.cli.run_dir import (
    check_fresh_output_dir,
    discard,
    inherit_overrides,
    is_rank_zero,
    resume_overrides,
)
from vqlab.cli.sweep_metric import failed_job, optimized_value
from vqlab.config.location import config_dir
from vqlab.config.resolvers import register_resolvers
from vqlab.errors import NonFiniteLossError
from vqlab.models.acceleration import accelerate

register_resolvers()
CONFIG_DIR = config_dir()


@dataclass
class Run:
    """Everything ``train`` builds from the config, before fitting."""

    datamodule: L.LightningDataModule
    model: L.LightningModule
    callbacks: list[L.Callback]
    loggers: list[Logger]
    trainer: L.Trainer


def build(cfg: DictConfig) -> Run:
    """Seed, then instantiate data, model, callbacks, loggers and trainer."""
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model)
    accelerate(
        model, compile=cfg.get("compile", False), channels_last=cfg.get("channels_last", False)
    )
    # a node set to null (`callbacks.respawn=null`, or by a config) switches that callback off
    callbacks = [instantiate(node) for node in (cfg.get("callbacks") or {}).values() if node]
    callbacks += console_callbacks(cfg.trainer, callbacks)
    if not any(isinstance(callback, GracefulStop) for callback in callbacks):
        callbacks.append(GracefulStop())  # SIGTERM / Ctrl-C stop at a step boundary, exit 143 / 130
    # step boundaries after every other callback's hooks (respawn, NaN guard) of the same batch;
    # Lightning then moves its own checkpoint callbacks after these
    callbacks.sort(key=lambda callback: isinstance(callback, GracefulStop))
    loggers = [instantiate(node) for node in (cfg.get("logger") or {}).values()]
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    return Run(datamodule, model, callbacks, loggers, trainer)


def fit_and_test(cfg: DictConfig, run: Run) -> dict[str, Any]:
    """Log the config, fit (from ``ckpt_path`` if given), test the best model; the last metrics."""
    trainer = run.trainer
    for logger in run.loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    if cfg.train:
        trainer.fit(run.model, datamodule=run.datamodule, ckpt_path=cfg.get("ckpt_path"))
    metrics = dict(trainer.callback_metrics)
    if cfg.test:
        checkpoint = trainer.checkpoint_callback
        best = checkpoint.best_model_path if checkpoint else ""
        # verbose=False: Lightning's table prints 17 digits to the console only; ours rounds and
        # goes to train.log as well
        results = trainer.test(
            run.model, datamodule=run.datamodule, ckpt_path=best or None, verbose=False
        )
        metrics.update(trainer.callback_metrics)
        if results and trainer.is_global_zero:
            final_table(results[0])
    return metrics


def train(cfg: DictConfig, output_dir: Path | None = None) -> dict[str, Any]:
    """Build, fit and test; a run that fails before its first training step leaves no directory
    (``output_dir``; None: keep it)."""
    run = None
    try:
        run = build(cfg)
        return fit_and_test(cfg, run)
    except BaseException:
        if output_dir is not None and (run is None or run.trainer.global_step == 0):
            discard(output_dir)
        raise
    finally:
        # each multirun job gets its own W&B run: close this one before the next job starts
        if run is not None and any(isinstance(logger, WandbLogger) for logger in run.loggers):
            wandb.finish()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Command-line entry point; see the module docstring."""
    quiet_console()
    hydra_config = HydraConfig.get()
    output_dir = Path(hydra_config.runtime.output_dir)
    if is_rank_zero():  # DDP workers share the console
        log_run_header(cfg, list(hydra_config.overrides.task), output_dir)
    sweeping = hydra_config.mode == RunMode.MULTIRUN
    with one_line_errors():
        try:
            # kept: a resumed run's directory (the run itself), a sweep job's (the report reads it)
            metrics = train(cfg, None if cfg.get("resume") or sweeping else output_dir)
        except NonFiniteLossError as error:
            if not sweeping:
                raise
            return failed_job(error, output_dir)  # NaN: a failed trial; the sweep goes on
        return optimized_value(metrics, cfg.get("optimized_metric"), sweeping)


def cli() -> None:
    """``python -m vqlab.train`` / ``vqlab-train``: check the arguments, then run Hydra."""
    arguments = sys.argv[1:]
    if is_rank_zero():  # DDP workers rerun this command line, already checked and completed
        with one_line_errors():
            arguments = inherit_overrides(arguments)  # ckpt_path=<run>/...: that run's config
            check_group_options(arguments, CONFIG_DIR)
            cfg = preflight(arguments, CONFIG_DIR)
            if cfg is not None:
                check_checkpoint(cfg)
            if cfg is not None and cfg.get("resume"):
                arguments += resume_overrides(cfg)  # the run's own directory, already claimed
            else:
                arguments = check_fresh_output_dir(arguments, CONFIG_DIR)
        sys.argv[1:] = arguments
    main()


if __name__ == "__main__":
    cli()
