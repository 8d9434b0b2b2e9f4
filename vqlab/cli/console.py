"""What a run shows: the overrides, the run directory, the progress bar and the final table.

Everything else that libraries print at INFO level (Lightning's device report and model summary,
restored checkpoints) goes to ``train.log`` only, through Python logging, which Hydra sends to the
console and to ``<run>/train.log``. Libraries' warnings go through logging to ``train.log`` only
(on the console they would tear the progress bar); vqlab's own warnings show in both. The final
table (test metrics to 4 significant digits) and a run's one-line error go to both. A few
messages that say nothing about the run are dropped: Lightning's advertising tips, W&B's own
chatter (``WANDB_SILENT``; set ``WANDB_SILENT=false`` to see it) and a deprecation warning raised
inside Lightning itself.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

from lightning.pytorch.callbacks import Callback, ModelSummary, ProgressBar
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from vqlab.callbacks.progress_bar import EpochProgressBar

log = logging.getLogger("vqlab")
log_file_only = logging.getLogger("vqlab.log_file")  # train.log only: what the console shows itself
SILENCED_WARNINGS = (
    r".*isinstance\(treespec, LeafSpec\)` is deprecated.*",  # inside Lightning, torch >= 2.6
)
TIP = "💡 Tip"


class ConsoleFilter(logging.Filter):
    """On the console: no INFO lines and no warnings from libraries (train.log keeps them), nor
    what the console shows by itself (the final table, one-line errors)."""

    def filter(self, record: logging.LogRecord) -> bool:
        library = record.name.startswith(("lightning", "wandb"))
        quiet = library and record.levelno < logging.WARNING
        library_warning = record.name == "py.warnings" and "/vqlab/" not in record.getMessage()
        return not (quiet or library_warning or record.name == log_file_only.name)


class TipFilter(logging.Filter):
    """Nowhere: Lightning's advertising tips (litlogger, litmodels)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(TIP)


def quiet_console() -> None:
    """Route library logs and warnings through the root logger's handlers, filtered as above."""
    for pattern in SILENCED_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    logging.captureWarnings(True)
    # Lightning gives its loggers their own stderr handler when imported before logging is set up
    for name in list(logging.root.manager.loggerDict):
        if name == "lightning" or name.startswith("lightning."):
            library_logger = logging.getLogger(name)
            library_logger.handlers.clear()
            library_logger.propagate = True
    os.environ.setdefault("WANDB_SILENT", "true")  # read by wandb.init
    for handler in logging.getLogger().handlers:
        handler.addFilter(TipFilter())
        if not isinstance(handler, logging.FileHandler):
            handler.addFilter(ConsoleFilter())


def log_run_header(cfg: DictConfig, overrides: list[str], output_dir: Path) -> None:
    """The overrides and the run directory; the full config only with ``print_config=true``."""
    log.info("vqlab.train %s", " ".join(overrides) or "(defaults)")
    log.info("run directory: %s (config: .hydra/config.yaml)", output_dir)
    if cfg.get("print_config"):
        Console().print(Syntax(OmegaConf.to_yaml(cfg, resolve=True), "yaml"))


def final_table(metrics: Mapping[str, float], title: str = "test") -> None:
    """The final metrics as a table on the console and in train.log, to 4 significant digits."""
    table = Table(title=f"{title} metrics")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in sorted(metrics.items()):
        table.add_row(name, f"{float(value):.4g}")
    Console().print(table)
    text = io.StringIO()
    Console(file=text, width=80, color_system=None).print(table)
    log_file_only.info("\n%s", text.getvalue().rstrip())


def console_callbacks(trainer_cfg: DictConfig, callbacks: list[Callback]) -> list[Callback]:
    """A progress bar without "Epoch 3/-2" and a model summary that goes to train.log only."""
    added: list[Callback] = []
    if trainer_cfg.get("enable_progress_bar", True) and not any(
        isinstance(callback, ProgressBar) for callback in callbacks
    ):
        added.append(EpochProgressBar())
    if trainer_cfg.get("enable_model_summary", True) and not any(
        isinstance(callback, ModelSummary) for callback in callbacks
    ):
        added.append(ModelSummary())
    return added
