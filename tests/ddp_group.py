"""One two-process gloo group on CPU for every DDP scenario of a test session.

Starting a process group costs two interpreters that import torch and vqlab; the suite's DDP tests
share one. A test module lists its scenarios in ``DDP_WORKERS`` (functions
``worker(rank, directory)`` that run inside an initialised group and write what they found into
``directory``), its test takes the ``ddp_results`` fixture (``conftest.py``) and asserts on
``ddp_results.folder(worker)``. The fixture runs the scenarios of the selected tests only, in
sequence, each in its own folder; a scenario that fails (or hangs past ``TIMEOUT``) fails its own
test with the worker's traceback, and the scenarios after it, which never ran, fail theirs.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

WORLD_SIZE = 2
TIMEOUT = timedelta(seconds=300)  # a collective one rank never reaches fails instead of hanging

Worker = Callable[[int, str], None]


def scenario_name(worker: Worker) -> str:
    return f"{worker.__module__}.{worker.__name__}"


def run_scenarios(rank: int, directory: str, workers: list[Worker]) -> None:
    """The body of each rank: one group, every scenario in turn, a barrier after each."""
    torch.set_num_threads(1)  # two ranks on a 2-core machine
    dist.init_process_group(
        "gloo",
        init_method=f"file://{directory}/store",
        rank=rank,
        world_size=WORLD_SIZE,
        timeout=TIMEOUT,
    )
    try:
        for worker in workers:
            folder = Path(directory) / scenario_name(worker)
            folder.mkdir(exist_ok=True)
            try:
                worker(rank, str(folder))
                dist.barrier()
            except BaseException:
                (folder / f"error{rank}.txt").write_text(traceback.format_exc())
                raise
            (folder / f"done{rank}").touch()
    finally:
        dist.destroy_process_group()


class DDPResults:
    """The folders of the scenarios one process group ran (``conftest.ddp_results``)."""

    def __init__(self, directory: Path, failure: BaseException | None) -> None:
        self.directory = directory
        self.failure = failure

    def folder(self, worker: Worker) -> Path:
        """Where ``worker`` wrote its results on both ranks; fails the test if it did not finish."""
        folder = self.directory / scenario_name(worker)
        if all((folder / f"done{rank}").exists() for rank in range(WORLD_SIZE)):
            return folder
        errors = [path.read_text() for path in sorted(folder.glob("error*.txt"))]
        pytest.fail(
            f"DDP scenario {scenario_name(worker)} did not finish on every rank\n"
            + ("\n".join(errors) or f"(it never ran: the group ended with {self.failure!r})")
        )


def run_group(directory: Path, workers: list[Worker]) -> DDPResults:
    """Spawn the two ranks once for all ``workers``."""
    failure = None
    if workers:
        try:
            mp.spawn(run_scenarios, args=(str(directory), workers), nprocs=WORLD_SIZE, join=True)
        except Exception as error:  # each test reports its own scenario's part of it
            failure = error
    return DDPResults(directory, failure)
