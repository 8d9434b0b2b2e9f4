"""ReusablePairing: reuse between refreshes, stability, exact resume, process-based refresh."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import Future
from pathlib import Path

import pytest
import torch

from vqlab.topology import Pairing, ReusablePairing, vietoris_rips_diagrams


def _clouds(count: int, seed: int = 0, n: int = 40, d: int = 8) -> list[torch.Tensor]:
    """A slowly drifting point cloud, one entry per training step."""
    generator = torch.Generator().manual_seed(seed)
    points = torch.randn(n, d, generator=generator)
    clouds = []
    for _ in range(count):
        points = points + 0.05 * torch.randn(n, d, generator=generator)
        clouds.append(points)
    return clouds


def _assert_same_diagrams(got: tuple, expected: tuple) -> None:
    for tensor, reference in zip(got, expected, strict=True):
        torch.testing.assert_close(tensor, reference, rtol=0, atol=0)


def _assert_same_pairing(got: Pairing, expected: Pairing) -> None:
    for name in ("h0_death", "h1_birth", "h1_death"):
        assert torch.equal(getattr(got, name), getattr(expected, name)), name


def test_reused_pairing_on_unchanged_points_equals_a_fresh_computation() -> None:
    points = _clouds(1)[0]
    pairing = ReusablePairing(pairing_every=5)
    for _ in range(3):
        diagrams = pairing.step(points)
    _assert_same_diagrams(diagrams, vietoris_rips_diagrams(points))


def test_pairing_is_reused_between_refreshes_and_refreshed_on_schedule() -> None:
    clouds = _clouds(5)
    pairing = ReusablePairing(pairing_every=3)
    for t, points in enumerate(clouds):
        diagrams = pairing.step(points)
        chosen_at = clouds[3 * (t // 3)]  # steps 0, 1, 2 use the pairing of step 0; 3, 4 of 3
        _assert_same_diagrams(diagrams, Pairing.compute(chosen_at).diagrams(points))
    assert pairing.steps == 5


def test_diagrams_for_evaluation_do_not_advance_or_refresh() -> None:
    first, second = _clouds(2)
    pairing = ReusablePairing(pairing_every=1)
    _assert_same_diagrams(pairing.diagrams(first), vietoris_rips_diagrams(first))
    assert pairing.pairing is None and pairing.steps == 0
    pairing.step(first)
    _assert_same_diagrams(pairing.diagrams(second), Pairing.compute(first).diagrams(second))
    assert pairing.steps == 1


def test_stability_is_one_for_unchanged_points_and_below_one_after_a_large_move() -> None:
    points = _clouds(1)[0]
    pairing = ReusablePairing(pairing_every=1)
    pairing.step(points)
    pairing.step(points.clone())
    assert pairing.stability == 1.0
    pairing.step(
        points + 10 * torch.randn(points.shape, generator=torch.Generator().manual_seed(9))
    )
    assert 0.0 <= pairing.stability < 1.0


def test_state_round_trips_through_a_dict_and_resume_is_exact() -> None:
    clouds = _clouds(7)
    uninterrupted = ReusablePairing(pairing_every=3)
    for points in clouds[:4]:
        uninterrupted.step(points)
    state = uninterrupted.state_dict()
    assert all(isinstance(value, torch.Tensor) for value in state.values())
    resumed = ReusablePairing(pairing_every=3)
    resumed.load_state_dict({key: value.clone() for key, value in state.items()})
    assert resumed.steps == 4 and resumed.stability == uninterrupted.stability
    for points in clouds[4:]:
        _assert_same_diagrams(resumed.step(points), uninterrupted.step(points))


def test_invalid_period_is_rejected() -> None:
    with pytest.raises(ValueError, match="pairing_every"):
        ReusablePairing(pairing_every=0)


def test_process_refresh_equals_synchronous_and_resumes_exactly() -> None:
    clouds = _clouds(7, seed=1)
    with ReusablePairing(pairing_every=2, asynchronous=True) as background:
        for t, points in enumerate(clouds[:5]):
            background.step(points)
            # Adopted at step t from the points of the previous refresh step (cold start: step 0).
            chosen_at = clouds[max(0, 2 * (t // 2) - 2)]
            _assert_same_pairing(background.pairing, Pairing.compute(chosen_at))
        state = background.state_dict()  # waits for the pairing of step 4, still in flight
        assert "pending.h0_death" in state
        with ReusablePairing(pairing_every=2, asynchronous=True) as resumed:
            resumed.load_state_dict(state)
            for points in clouds[5:]:
                _assert_same_diagrams(resumed.step(points), background.step(points))
            _assert_same_pairing(resumed.pairing, Pairing.compute(clouds[4]))


def test_failed_worker_result_is_recomputed_in_process() -> None:
    first, second = _clouds(2, seed=2)
    pairing = ReusablePairing(pairing_every=1)
    pairing.step(first)
    failed: Future = Future()
    failed.set_exception(RuntimeError("worker died"))
    pairing._pending = (failed, first.double().numpy(), 0)  # as if a worker had been given `first`
    pairing.step(second)
    _assert_same_pairing(pairing.pairing, Pairing.compute(first))


def test_unguarded_script_falls_back_to_synchronous_pairing_with_one_warning(tmp_path: Path):
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import torch\n"
        "from vqlab.topology import ReusablePairing\n"
        "pairing = ReusablePairing(pairing_every=1, asynchronous=True)\n"
        "for step in range(3):\n"
        "    pairing.step(torch.rand(12, 3, generator=torch.Generator().manual_seed(step)))\n"
        "print('asynchronous', pairing.asynchronous)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "asynchronous False"
    assert result.stderr.count("no `if __name__") == 1
    assert "RuntimeError" not in result.stderr
