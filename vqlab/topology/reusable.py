"""A persistence pairing kept across training steps and refreshed every few steps.

The pairing of a codebook changes slowly while training, but computing it (giotto-ph) is the whole
cost of the HC-VQ term (DESIGN.md, "Cost"). :class:`ReusablePairing` keeps the last pairing,
re-evaluates it on the current points every step (one gather, microseconds) and refreshes it every
``pairing_every`` training steps.

Usage in a training loop (or a Lightning hook)::

    pairing = ReusablePairing(pairing_every=10, asynchronous=True)
    h0, h1 = pairing.step(codebook)            # training step: may refresh, then evaluate
    h0, h1 = pairing.diagrams(codebook)        # validation: evaluate only, never refreshes
    pairing.advance(codebook), pairing.current(codebook)  # the same, returning the Pairing
    pairing.stability                          # fraction of pairs kept at the last refresh
    state = pairing.state_dict()               # dict of tensors -> checkpoint
    pairing.load_state_dict(state)             # exact resume
    pairing.close()                            # stop the worker (also done on garbage collection)

Schedule: training step t (counted by :meth:`step`) refreshes when ``t % pairing_every == 0``.

- Synchronous mode (default; deterministic, for tests): the refresh computes the pairing of the
  points of step t, on the calling thread.
- Asynchronous mode: the refresh *adopts* the pairing computed in a worker process from the points
  of the previous refresh step t - pairing_every (waiting for it if it is not ready yet) and submits
  the points of step t to the worker. The pairing is therefore one period older than in synchronous
  mode, but the result does not depend on timing: the sequence of pairings is deterministic. The
  very first refresh (no pairing yet) is computed synchronously. giotto-ph holds the GIL, hence a
  process (``spawn`` by default: safe with CUDA and threads), not a thread. If the worker dies, the
  pairing is recomputed on the calling thread from the same submitted points and a new worker is
  started, so results are unchanged. When the main script has no ``if __name__ == "__main__":``
  guard (:func:`vqlab.topology.spawn_safety.main_script_is_guarded`), a spawned worker would re-run
  the whole script: the pairing then falls back to synchronous mode with a warning.

Diagrams for display: a reused pairing evaluated on points that have moved since it was computed
is not the diagram of those points (some H1 bars even get negative length); it is what the loss
uses (the documented approximation), not what should be shown. :meth:`fresh_diagrams` returns the
last *valid* diagram: the pairing of the last refresh evaluated on the very points it was computed
from (in asynchronous mode those of the previous refresh), ``fresh_step`` the training step of those
points; it is recomputed once where no refresh has happened since start-up or resume.

Checkpoints: :meth:`state_dict` holds the step counter, the last stability, the current pairing and,
in asynchronous mode, the pairing still in flight (it waits for it), so resuming reproduces the
uninterrupted sequence of pairings exactly. In Lightning, the owner (callback or module) returns
this dict from its own ``state_dict`` (or stores it in ``on_save_checkpoint``), feeds it back in
``load_state_dict``, calls :meth:`step` in ``training_step``, :meth:`diagrams` in validation, and
:meth:`close` in ``teardown``. Under DDP every rank holds the same codebook, hence the same pairing.
"""

from __future__ import annotations

import multiprocessing
import warnings
import weakref
from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np
import torch
from torch import Tensor

from vqlab.topology.pairing import Pairing, pairing_arrays, pairing_stability
from vqlab.topology.spawn_safety import main_script_is_guarded

_PAIRING = "pairing."
_PENDING = "pending."


class ReusablePairing:
    """Persistence pairing of a point cloud, re-evaluated every step, refreshed every few steps.

    Args:
        pairing_every: refresh period in training steps (1 recomputes every step).
        asynchronous: compute refreshes in a worker process, one period ahead (see module doc).
        start_method: multiprocessing start method of the worker ("spawn" or "forkserver").
    """

    def __init__(
        self, pairing_every: int = 10, asynchronous: bool = False, start_method: str = "spawn"
    ) -> None:
        if pairing_every < 1:
            raise ValueError(f"pairing_every must be >= 1, got {pairing_every}")
        self.pairing_every = pairing_every
        self.asynchronous = asynchronous
        self.start_method = start_method
        self.pairing: Pairing | None = None
        self.stability = float("nan")  # no refresh compared yet
        self.steps = 0
        self.fresh: tuple[Tensor, Tensor] | None = None  # see fresh_diagrams
        self.fresh_step = -1
        # in flight: (future or adopted pairing, the points it is computed from, their step)
        self._pending: tuple[Future | Pairing, np.ndarray | None, int] | None = None
        self._executor: ProcessPoolExecutor | None = None
        self._finalizer: weakref.finalize | None = None

    def step(self, points: Tensor) -> tuple[Tensor, Tensor]:
        """One training step: refresh the pairing if due, then evaluate it on ``points`` (n, d)."""
        return self.advance(points).diagrams(points)

    def diagrams(self, points: Tensor) -> tuple[Tensor, Tensor]:
        """Evaluate the current pairing on ``points``; the step counter does not advance."""
        return self.current(points).diagrams(points)

    def advance(self, points: Tensor) -> Pairing:
        """:meth:`step` without the evaluation: the pairing of this training step."""
        if self.steps % self.pairing_every == 0:
            self._refresh(points)
        self.steps += 1
        return self.pairing

    def current(self, points: Tensor) -> Pairing:
        """:meth:`diagrams` without the evaluation: the pairing to evaluate ``points`` with.

        Before any training step there is no pairing: one is computed but not kept, so evaluation
        never changes the training schedule.
        """
        return self.pairing if self.pairing is not None else Pairing.compute(points)

    def fresh_diagrams(self, points: Tensor) -> tuple[Tensor, Tensor]:
        """The last valid ``(h0, h1)`` (detached; see the module doc), computed from ``points``
        (and kept) where there is none yet."""
        if self.fresh is None:
            with torch.no_grad():
                self.fresh = Pairing.compute(points).diagrams(points.detach())
            self.fresh_step = self.steps - 1
        return self.fresh

    def _refresh(self, points: Tensor) -> None:
        pending, source, source_step = self._take_pending()
        if pending is None:
            pending = Pairing.compute(points)
            source, source_step = points.detach().cpu().double().numpy(), self.steps
        if self.pairing is not None:
            self.stability = pairing_stability(self.pairing, pending)
        self.pairing = pending
        if source is not None:
            with torch.no_grad():
                original = torch.from_numpy(source).to(points.device, points.dtype)
                self.fresh, self.fresh_step = pending.diagrams(original), source_step
        if self.asynchronous and self.start_method != "fork" and not main_script_is_guarded():
            warnings.warn(
                'the main script has no `if __name__ == "__main__":` guard, so a spawned '
                "pairing worker would re-run it: HC-VQ pairs synchronously instead "
                "(put the training call under the guard for asynchronous pairing)",
                stacklevel=2,
            )
            self.asynchronous = False
        if self.asynchronous:
            array = points.detach().cpu().double().numpy()
            future = self._worker().submit(pairing_arrays, array)
            self._pending = (future, array, self.steps)

    def _take_pending(self) -> tuple[Pairing | None, np.ndarray | None, int]:
        pending, self._pending = self._pending, None
        if pending is None:
            return None, None, -1
        work, array, step = pending
        if isinstance(work, Pairing):
            return work, array, step
        try:
            return Pairing.from_arrays(work.result()), array, step
        except Exception:
            # A dead or failing worker must not change results: redo the same work here.
            self._stop_worker()
            return Pairing.from_arrays(pairing_arrays(array)), array, step

    def _worker(self) -> ProcessPoolExecutor:
        if self._executor is None:
            context = multiprocessing.get_context(self.start_method)
            self._executor = ProcessPoolExecutor(max_workers=1, mp_context=context)
            self._finalizer = weakref.finalize(self, _shutdown, self._executor)
        return self._executor

    def _stop_worker(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # shuts the executor down once, and detaches the finalizer
        self._executor, self._finalizer = None, None

    def close(self) -> None:
        """Stop the worker process; a pairing in flight is dropped (the next refresh recomputes)."""
        self._pending = None
        self._stop_worker()

    def __enter__(self) -> ReusablePairing:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def state_dict(self) -> dict[str, Tensor]:
        """Step counter, last stability, current and in-flight pairings as a dict of tensors."""
        state = {
            "steps": torch.tensor(self.steps),
            "stability": torch.tensor(self.stability, dtype=torch.float64),
        }
        if self.pairing is not None:
            state |= self.pairing.state_dict(_PAIRING)
        pending, array, step = self._take_pending()
        if pending is not None:
            self._pending = (pending, array, step)
            state |= pending.state_dict(_PENDING)
        return state

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Restore :meth:`state_dict`; a saved in-flight pairing is adopted at the next refresh."""
        self.steps = int(state["steps"])
        self.stability = float(state["stability"])
        has_pairing = f"{_PAIRING}h0_death" in state
        self.pairing = Pairing.from_state_dict(state, _PAIRING) if has_pairing else None
        has_pending = f"{_PENDING}h0_death" in state
        pending = Pairing.from_state_dict(state, _PENDING) if has_pending else None
        # the points of a saved in-flight pairing are not kept: fresh_diagrams recomputes once
        self._pending = None if pending is None else (pending, None, -1)
        self.fresh, self.fresh_step = None, -1


def _shutdown(executor: ProcessPoolExecutor) -> None:
    executor.shutdown(wait=True, cancel_futures=True)
