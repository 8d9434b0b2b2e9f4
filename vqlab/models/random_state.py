"""Random-number-generator state in the checkpoint, one entry per rank, restored on resume.

Anything random after a checkpoint (Gumbel noise, dropout, random restarts) draws from the
python, numpy, torch and CUDA generators; a resumed run re-seeds them at start-up, so without
their state in the checkpoint it would draw different numbers than the uninterrupted run.
"""

from __future__ import annotations

import random
from typing import Any

import lightning as L
import numpy as np
import torch

from vqlab.distributed import all_gather_objects

CHECKPOINT_KEY = "rng_states"  # a list: entry r is rank r's generators


def collect_rng_state() -> dict[str, Any]:
    """This process's python, numpy, torch (CPU) and CUDA (every device) generator states."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        # plain python values: a checkpoint loads with ``weights_only=True``
        "numpy": [
            value.tolist() if isinstance(value, np.ndarray) else value
            for value in np.random.get_state()
        ],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Set this process's generators to ``state`` (from ``collect_rng_state``)."""
    random.setstate(state["python"])
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def gather_rng_states() -> list[dict[str, Any]]:
    """Every rank's ``collect_rng_state()``, in rank order (a collective under DDP)."""
    return all_gather_objects(collect_rng_state())


class RandomStateCheckpoint(L.LightningModule):
    """LightningModule hooks: save every rank's generator states, restore them on resume.

    Lightning builds a checkpoint on every rank (and writes rank 0's), so ``on_save_checkpoint``
    gathers all ranks' states. A loaded state is applied at the first training batch after the
    restore (``on_train_batch_start``, after callbacks' hooks, before ``training_step``): the
    sanity check, data loading and anything else between start-up and that batch then cannot
    shift the generators. The training loaders draw nothing from the global generators (see
    ``vqlab.data.resumable``). A checkpoint without states (older ones) resumes re-seeded, as
    before. Subclasses that override these hooks call ``super()``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._rng_states_to_restore: list[dict[str, Any]] | None = None

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[CHECKPOINT_KEY] = gather_rng_states()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._rng_states_to_restore = checkpoint.get(CHECKPOINT_KEY)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> int | None:
        states, self._rng_states_to_restore = self._rng_states_to_restore, None
        if states is not None:
            rank = self.global_rank if self._trainer is not None else 0
            # a run resumed on more ranks than it was saved from: extra ranks keep their seeds
            if rank < len(states):
                restore_rng_state(states[rank])
        return None
