"""Lightning loggers with vqlab's dashboard conventions."""

from vqlab.loggers.wandb_run import DashboardWandbLogger, run_name

__all__ = ["DashboardWandbLogger", "run_name"]
