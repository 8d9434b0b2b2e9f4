"""Reading finished sweeps: the report table, its plots, and W&B offline runs (no network)."""

from vqlab.report.jobs import Job, read_multirun
from vqlab.report.table import write_report

__all__ = ["Job", "read_multirun", "write_report"]
