"""Finished runs: rebuild a run's model from its directory (config + checkpoint)."""

from vqlab.runs.loading import load_run

__all__ = ["load_run"]
