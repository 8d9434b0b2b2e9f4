"""Training loaders that remember how far into an epoch they got, so a run resumed from a
mid-epoch checkpoint continues with the next batch instead of restarting the epoch.

Lightning saves ``state_dict()`` of every training loader that has ``state_dict`` /
``load_state_dict`` into the checkpoint (``loops.fit_loop.state_dict.combined_loader``) and hands it
back to ``load_state_dict`` when it resumes an unfinished epoch; it asks for no other protocol.
Lightning reads the length of a sized loader instead of pre-fetching, so the count of batches
handed out equals the count of batches trained on when a checkpoint is written.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import torch
from lightning.fabric.utilities.distributed import DistributedSamplerWrapper
from torch.utils.data import DataLoader, Sampler

Item = TypeVar("Item")


class ResumableSampler(DistributedSamplerWrapper):
    """This rank's shard of ``sampler``'s order (all of it when ``num_replicas == 1``), able to
    start one epoch part-way through.

    Rank ``r`` of ``R`` gets positions ``r, r + R, ...`` of the order, padded to equal lengths
    (Lightning's ``DistributedSamplerWrapper`` without reshuffling; with ``R = 1`` the order
    itself). ``start`` shard positions are skipped by the next iteration only. ``set_epoch`` is
    forwarded to ``sampler``. Being a ``DistributedSampler``, Lightning leaves it in place under
    DDP instead of injecting its own.
    """

    def __init__(self, sampler: Sampler[int], num_replicas: int = 1, rank: int = 0) -> None:
        super().__init__(sampler, num_replicas=num_replicas, rank=rank, shuffle=False)
        self.start = 0

    def __iter__(self) -> Iterator[int]:
        start, self.start = self.start, 0
        return itertools.islice(super().__iter__(), start, None)


class BatchProgress:
    """Which epoch a loader serves and how many of its batches it has handed out.

    ``track`` wraps a loader's batches: it is a generator, so nothing (the sampler's order, worker
    processes) is set up before the first batch is asked for, after Lightning has called
    ``set_epoch``. A loaded state skips its batches only in the epoch it was saved in.
    """

    def __init__(self) -> None:
        self.epoch = 0
        self.served = 0
        self.pending: dict[str, int] | None = None

    def track(
        self, sampler: ResumableSampler, batch_size: int, batches: Callable[[], Iterable[Item]]
    ) -> Iterator[Item]:
        self.epoch = sampler.epoch
        pending, self.pending = self.pending, None
        skip = pending["batches"] if pending and pending["epoch"] == self.epoch else 0
        sampler.start = skip * batch_size
        self.served = skip
        for batch in batches():
            self.served += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "batches": self.served}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.pending = {"epoch": int(state["epoch"]), "batches": int(state["batches"])}


class ResumableDataLoader(DataLoader):
    """A ``DataLoader`` over a ``ResumableSampler`` whose position within an epoch is saved.

    Its own ``generator`` (seeded by ``seed``) gives the worker base seed, so starting an epoch
    draws nothing from the global RNG, whose state the checkpoint restores separately.
    """

    sampler: ResumableSampler

    def __init__(self, dataset: Any, sampler: ResumableSampler, seed: int = 0, **kwargs: Any):
        generator = torch.Generator().manual_seed(seed)
        super().__init__(dataset, sampler=sampler, generator=generator, **kwargs)
        self.progress = BatchProgress()

    def __iter__(self) -> Iterator[Any]:
        return self.progress.track(self.sampler, self.batch_size or 1, super().__iter__)

    def state_dict(self) -> dict[str, int]:
        return self.progress.state_dict()

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.progress.load_state_dict(state)
