"""Checkpoint writes are atomic on a filesystem other than $TMPDIR's: a failed write (a full disk)
or a kill -9 during the write leaves the previous checkpoint intact and nothing in $TMPDIR."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from vqlab.runs.loading import checkpoint_path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHM = Path("/dev/shm")
# the checkpoint plugin the composed trainer config builds, writing to argv[1]: a small
# checkpoint, then (after "ready") a large one, under a file-size limit when argv[2] == "full"
WRITER = """
import resource, signal, sys
import torch
from hydra.utils import instantiate
from conftest import compose_train_config
from pathlib import Path

target, mode = Path(sys.argv[1]), sys.argv[2]
cfg = compose_train_config(["trainer.accelerator=cpu"], Path(sys.argv[3]))
io = instantiate(cfg.trainer, logger=False, callbacks=[]).strategy.checkpoint_io
io.save_checkpoint({"step": 1, "x": torch.arange(10.0)}, target)
large = {"step": 2, "x": torch.ones(int(sys.argv[4]))}
if mode == "full":  # writes past 1 MB fail (EFBIG), as on a full disk
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2**20, 2**20))
print("ready", flush=True)
try:
    io.save_checkpoint(large, target)
except (OSError, RuntimeError) as error:  # torch.save reports EFBIG as either
    print("failed:", type(error).__name__, flush=True)
"""

pytestmark = pytest.mark.skipif(
    not SHM.is_dir() or os.stat(SHM).st_dev == os.stat("/tmp").st_dev,
    reason="needs /dev/shm on another filesystem than /tmp",
)


@pytest.fixture
def shm_dir() -> Iterator[Path]:
    directory = SHM / f"vqlab-test-{uuid.uuid4().hex}"
    directory.mkdir()
    yield directory
    for path in directory.iterdir():
        path.unlink()
    directory.rmdir()


def start_writer(tmp_path: Path, target: Path, mode: str, numel: int) -> subprocess.Popen:
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    env = {
        **os.environ,
        "TMPDIR": str(tmpdir),
        "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'tests'}",
    }
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(target), mode, str(tmp_path / "cfg"), str(numel)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def assert_previous_checkpoint_intact(target: Path) -> None:
    checkpoint = torch.load(target, weights_only=True)
    assert checkpoint["step"] == 1
    assert torch.equal(checkpoint["x"], torch.arange(10.0))


def test_a_failed_write_keeps_the_previous_checkpoint_and_leaves_no_file(
    tmp_path: Path, shm_dir: Path
) -> None:
    target = shm_dir / "best_epoch000.ckpt"
    writer = start_writer(tmp_path, target, "full", 2**20)  # 4 MB > the 1 MB limit
    output, _ = writer.communicate(timeout=120)
    assert writer.returncode == 0 and "failed:" in output, output
    assert_previous_checkpoint_intact(target)
    assert sorted(path.name for path in shm_dir.iterdir()) == [target.name]
    assert not any((tmp_path / "tmpdir").iterdir())  # nothing leaked into $TMPDIR
    # load_run("best") finds the intact file, never a partial one
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoints").symlink_to(shm_dir)
    assert (
        checkpoint_path(tmp_path / "run", "best") == tmp_path / "run" / "checkpoints" / target.name
    )


def test_a_kill_during_the_write_keeps_the_previous_checkpoint(
    tmp_path: Path, shm_dir: Path
) -> None:
    target = shm_dir / "last.ckpt"
    writer = start_writer(tmp_path, target, "kill", 50 * 2**20)  # 200 MB: a write that lasts
    assert writer.stdout is not None
    try:
        lines = iter(writer.stdout.readline, "")
        assert any(line.strip() == "ready" for line in lines), "the writer never got ready"
        before = {path.name: path.stat().st_size for path in shm_dir.iterdir()}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # kill -9 the moment the write touches the directory
            now = {path.name: path.stat().st_size for path in shm_dir.iterdir()}
            if now != before:
                break
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert now != before, "the write never started"
    assert_previous_checkpoint_intact(target)
    assert not any((tmp_path / "tmpdir").iterdir())
