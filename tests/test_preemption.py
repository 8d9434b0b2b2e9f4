"""SIGTERM and Ctrl-C stop training at a step boundary with a checkpoint, and the resumed run ends
bit-identical to an uninterrupted one: mid-epoch, on the batch before a validation (an epoch's
last batch, a ``val_check_interval`` batch), inside a gradient accumulation window."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import torch
from conftest import compose_train_config, run_cli
from test_exact_resume import assert_identical

from vqlab.callbacks.graceful_stop import TrainingStopped
from vqlab.train import train

BASE = [
    "data=lowrank",
    "data.num_samples=1000",
    "data.batch_size=50",
    "logger=none",
    "test=false",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "trainer.limit_train_batches=6",  # 6 batches an epoch, each followed by validation
    "trainer.limit_val_batches=1",
    "trainer.max_steps=9",
    "callbacks.step_checkpoint.every_n_steps=100",  # only the stop writes a step checkpoint
    "+callbacks.dump._target_=train_probes.DumpState",
    "+callbacks.dump.dirpath=${paths.output_dir}/dump",
]
# k-means init, and respawn events on both sides of every cut
CODEBOOK = [
    "model=vqvae_mlp",
    "model.quantizer.codebook_size=16",
    "callbacks.kmeans_init.num_batches=2",
    "callbacks.respawn.every_n_steps=2",
    "callbacks.respawn.threshold=0.5",
    "callbacks.respawn.noise=0.1",
]
SIGTERM, SIGINT = int(signal.SIGTERM), int(signal.SIGINT)
# name: (extra overrides, signal, sent in the batch after this step, the step the stop saves)
CASES = {
    "sigterm_mid_epoch": ([], SIGTERM, 2, 3),
    "ctrl_c_mid_epoch": ([], SIGINT, 2, 3),
    "sigterm_before_epoch_end_validation": ([], SIGTERM, 5, 6),
    "sigterm_before_val_check_interval": (["trainer.val_check_interval=4"], SIGTERM, 3, 4),
    "sigterm_in_accumulation_window": (["trainer.accumulate_grad_batches=2"], SIGTERM, 1, 2),
    "cae_sigterm_before_epoch_end_validation": (
        ["model=cae", "callbacks=cae"],
        SIGTERM,
        5,
        6,
    ),
}


def run(tmp_path: Path, name: str, overrides: list[str]) -> Path:
    train(compose_train_config([*BASE, *overrides], tmp_path / name))
    return tmp_path / name / "run"


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_signal_stops_at_a_step_boundary_and_resumes_bit_identically(tmp_path: Path, case: str):
    extra, signum, signal_step, stop_step = CASES[case]
    if not case.startswith("cae"):
        extra = [*CODEBOOK, *extra]
    straight = run(tmp_path, "straight", extra)
    probe = [
        "+callbacks.signal._target_=train_probes.SignalAt",
        f"+callbacks.signal.step={signal_step}",
        f"+callbacks.signal.signum={signum}",
        "+callbacks.signal.group=false",
    ]
    with pytest.raises(TrainingStopped) as stopped:
        run(tmp_path, "cut", [*extra, *probe])
    assert stopped.value.code == 128 + signum
    last = tmp_path / "cut" / "run" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["global_step"] == stop_step
    resumed = run(tmp_path, "resumed", [*extra, f"ckpt_path={last}"])
    expected = torch.load(straight / "dump" / "rank0.pt")
    assert_identical(expected, torch.load(resumed / "dump" / "rank0.pt"), case)


def test_sigterm_exits_143_and_prints_the_checkpoint_and_the_resume_command(tmp_path: Path):
    run_dir = tmp_path / "run"
    result = run_cli(
        [
            *BASE[:-2],
            *CODEBOOK,
            "trainer.max_steps=50",
            f"hydra.run.dir={run_dir}",
            "+callbacks.signal._target_=train_probes.SignalAt",
            "+callbacks.signal.step=2",
            "+callbacks.signal.group=false",
        ],
        cwd=tmp_path,
        pythonpath_tests=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 143, output[-3000:]
    last = run_dir / "checkpoints" / "last.ckpt"
    assert f"stopped by SIGTERM after step 3; its state is in {last}" in output
    assert f"resume=true ckpt_path={last}" in output
    assert torch.load(last, weights_only=True)["global_step"] == 3
