"""Preemption under 2-process gloo DDP on CPU (``python -m vqlab.train trainer=ddp``): SIGTERM to
the process group stops both ranks at the same step within seconds, with a checkpoint of that step
and exit status 143, and the resumed run ends bit-identical to an uninterrupted one on both ranks,
with dead-code respawn events on both sides of the cut."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from test_exact_resume import assert_identical

from vqlab.models.logged_module import TRAIN_WINDOW_KEY

REPO_ROOT = Path(__file__).resolve().parents[1]
RUN = [
    "trainer=ddp",
    "trainer.devices=2",
    "trainer.accelerator=cpu",
    "model=vqvae_mlp",
    "model.quantizer.codebook_size=16",
    "data=lowrank",
    "data.num_samples=2000",
    "data.batch_size=50",
    "logger=none",
    "test=false",
    "trainer.max_steps=12",
    "trainer.limit_train_batches=8",  # per rank: validation and an epoch end at step 8
    "trainer.limit_val_batches=1",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "callbacks.kmeans_init.num_batches=2",
    "callbacks.respawn.every_n_steps=2",  # respawn events at steps 2, 4, 6 (the cut), 8, ...
    "callbacks.respawn.threshold=0.5",
    "callbacks.respawn.noise=0.1",
    "callbacks.step_checkpoint.every_n_steps=100",  # only the stop writes a step checkpoint
]
SIGNAL_STEP = 5  # SIGTERM while the batch of step 6 runs: both ranks stop after step 6


def launch(run_dir: Path, extra: list[str], timeout: float = 300) -> tuple[int, str, float]:
    """Run the CLI in its own process group; (exit status, output, seconds until every process
    of the group is gone). A hang is killed and fails the test."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'tests'}",
        "WANDB_MODE": "offline",
    }
    overrides = [
        *RUN,
        f"hydra.run.dir={run_dir}",
        "+callbacks.dump._target_=train_probes.DumpState",
        f"+callbacks.dump.dirpath={run_dir}/dump",
        *extra,
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "vqlab.train", *overrides],
        cwd=run_dir.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"the run hung (killed after {timeout} s):\n{output[-3000:]}")
    ended = time.monotonic()
    while group_alive(process.pid) and time.monotonic() - ended < 30:
        time.sleep(0.1)
    assert not group_alive(process.pid), "a rank outlived rank 0 by 30 s"
    return process.returncode, output, time.monotonic() - ended  # seconds since the group ended


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def dumps(run_dir: Path) -> list[dict]:
    return [torch.load(run_dir / "dump" / f"rank{rank}.pt") for rank in (0, 1)]


@pytest.mark.slow
def test_sigterm_to_a_ddp_group_stops_both_ranks_and_resumes_bit_identically(tmp_path: Path):
    status, output, _ = launch(tmp_path / "straight", [])
    assert status == 0, output[-3000:]
    expected = dumps(tmp_path / "straight")

    cut = tmp_path / "cut"
    status, output, straggler = launch(
        cut,
        [
            "+callbacks.signal._target_=train_probes.SignalAt",
            f"+callbacks.signal.step={SIGNAL_STEP}",
            f"+callbacks.signal.stamp={tmp_path / 'signalled'}",
        ],
    )
    assert status == 143, output[-3000:]
    # both ranks gone within seconds of the signal (one step, the save, the exit)
    assert time.time() - float((tmp_path / "signalled").read_text()) < 30
    assert straggler < 10
    for rank in (0, 1):  # each rank raised the stop (exit status 143), none was killed
        assert f"rank {rank} stopped: 143" in output, output[-3000:]
    last = cut / "checkpoints" / "last.ckpt"
    assert f"stopped by SIGTERM after step {SIGNAL_STEP + 1}" in output, output[-3000:]
    assert f"ckpt_path={last}" in output
    checkpoint = torch.load(last, weights_only=True)
    assert checkpoint["global_step"] == SIGNAL_STEP + 1
    assert len(checkpoint["rng_states"]) == 2
    assert not list((cut / "checkpoints").glob(".*"))  # no temporary file left

    resumed = tmp_path / "resumed"
    status, output, _ = launch(resumed, [f"ckpt_path={last}"])
    assert status == 0, output[-3000:]
    got = dumps(resumed)
    # the open usage window is saved summed over ranks and loaded by rank 0 alone: each rank's
    # part differs from the uninterrupted run's, the sum (what is reported) does not
    windows = [key for key in expected[0]["state_dict"] if key.endswith(TRAIN_WINDOW_KEY)]
    assert windows
    for key in windows:
        assert_identical(
            sum(dump["state_dict"].pop(key) for dump in expected),
            sum(dump["state_dict"].pop(key) for dump in got),
            key,
        )
    for rank in (0, 1):
        assert got[rank]["global_step"] == 12
        assert_identical(expected[rank], got[rank], f"rank {rank}")
    assert_identical(got[0]["state_dict"], got[1]["state_dict"], "ranks agree")
