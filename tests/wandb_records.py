"""The W&B offline-file reader for tests: ``vqlab.wandb_offline``'s, re-exported."""

from __future__ import annotations

from vqlab.wandb_offline import metric_history, read_records

__all__ = ["metric_history", "read_records"]
