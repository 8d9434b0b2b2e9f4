"""The W&B offline-file reader for tests: ``vqlab.report.offline_runs``'s, re-exported."""

from __future__ import annotations

from vqlab.report.offline_runs import metric_history, read_records

__all__ = ["metric_history", "read_records"]
