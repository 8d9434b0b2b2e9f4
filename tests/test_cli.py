"""The command line: bad input gives one line and a non-zero exit; runs never share a directory.

The checks run ``vqlab.train``'s entry point in this process (``run_cli_in_process``); the multirun
and the DDP runs are real ``python -m vqlab.train`` processes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
from conftest import run_cli
from fake_datasets import write_mnist
from in_process import run_cli_in_process
from wandb_records import read_records

FAST = [
    "logger=none",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=3",
    "trainer.limit_val_batches=2",
    "test=false",
]


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("vqlab: error:")]
    for fragment in fragments:
        assert fragment in line


@pytest.mark.parametrize(
    ("override", "fragments"),
    [
        ("model=nope", ("unknown model 'nope'", "vqvae_ema")),
        ("model.quantizer.codebook_size=0", ("model.quantizer.codebook_size must be > 0",)),
        ("model.quantizer.beta=-1", ("model.quantizer.beta must be >= 0",)),
        ("data.batch_size=0", ("data.batch_size must be > 0",)),
        (
            "model.quantizer.codebok_size=64",
            ("did you mean `model.quantizer.codebook_size`?",),
        ),
    ],
)
def test_bad_input_gives_one_line_and_nonzero_exit(tmp_path: Path, override, fragments) -> None:
    result = run_cli_in_process([override, *FAST, f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "run").exists()  # a run that never trained leaves no directory


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    vectors = ["model=vqvae_mlp", "data=lowrank"]
    good = run_cli_in_process([*vectors, *FAST, f"hydra.run.dir={tmp_path / 'good'}"], tmp_path)
    assert good.returncode == 0, good.stderr[-2000:]
    last = tmp_path / "good" / "checkpoints" / "last.ckpt"
    digest = hashlib.sha256(last.read_bytes()).hexdigest()

    diverging = run_cli_in_process(
        # beta = 1e39 overflows float32: the first resumed step's loss is infinite
        [
            *vectors,
            *FAST,
            "trainer.max_epochs=3",
            "model.quantizer.beta=1e39",
            f"ckpt_path={last}",
            f"hydra.run.dir={tmp_path / 'diverged'}",
        ],
        tmp_path,
    )
    assert_one_line_error(diverging, "NaN or infinite", "model.optimizer.lr")
    assert hashlib.sha256(last.read_bytes()).hexdigest() == digest
    assert not list((tmp_path / "diverged").glob("checkpoints/*.ckpt"))


def test_a_run_never_writes_into_an_existing_run_directory(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    first = run_cli_in_process([*FAST, f"hydra.run.dir={run_dir}"], tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    before = {path: path.read_bytes() for path in run_dir.rglob("*") if path.is_file()}
    for directory in (f"hydra.run.dir={run_dir}", f"hydra.sweep.dir={run_dir}"):
        second = run_cli_in_process(
            [*FAST, directory] + (["-m"] if "sweep" in directory else []), tmp_path
        )
        assert_one_line_error(second, "already holds a run", directory)
    after = {path: path.read_bytes() for path in run_dir.rglob("*") if path.is_file()}
    assert after == before  # config, checkpoints and logs untouched


def test_help_starts_with_usage_and_examples_and_lists_the_config_groups(tmp_path: Path) -> None:
    result = run_cli_in_process(["--help"], tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("vqlab: ")
    assert "Usage: python -m vqlab.train" in result.stdout.splitlines()[2]
    examples = [line for line in result.stdout.splitlines() if line.startswith("  python -m")]
    assert len(examples) == 5
    assert "powered by Hydra" not in result.stdout
    for group in ("model: ", "data: ", "trainer: ", "logger: ", "callbacks: ", "experiment: "):
        assert group in result.stdout
    assert "vqvae_ema" in result.stdout and "vqvae_ste" in result.stdout


def test_multirun_gives_each_job_its_own_directory_and_wandb_run(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        [
            "-m",
            "model=vqvae_ema,vqvae_ste",
            "model.quantizer.codebook_size=16,32",
            "logger=wandb",
            *FAST[1:],
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sorted(path for path in sweep_dir.iterdir() if path.is_dir())
    assert [job.name for job in jobs] == ["0", "1", "2", "3"]
    run_ids = set()
    for job in jobs:
        assert (job / "checkpoints" / "last.ckpt").is_file()
        (wandb_file,) = job.glob("wandb/offline-run-*/run-*.wandb")
        (run,) = [r.run for r in read_records(wandb_file) if r.WhichOneof("record_type") == "run"]
        assert run.run_group == "sweep"  # the jobs of one sweep form one W&B group
        run_ids.add(run.run_id)
    assert len(run_ids) == 4


def assert_sharded(result, run_dir: Path, steps_per_epoch: int) -> None:
    """Both ranks trained, each on its own shard; synced val / test metrics in the CSV log."""
    assert result.returncode == 0, result.stderr[-3000:]
    logs = "".join(path.read_text() for path in run_dir.glob("*.log"))  # one per process
    assert "MEMBER: 2/2" in logs
    assert "sync_dist" not in logs + result.stderr + result.stdout  # val/*, test/* logged synced
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["global_step"] == steps_per_epoch  # each rank saw only its shard
    (metrics_file,) = run_dir.glob("csv/version_*/metrics.csv")
    assert "test/recon_mse" in metrics_file.read_text()


def test_two_process_ddp_training_on_cpu_shards_the_digits(ddp_cli_run) -> None:
    # 1437 training digits, DistributedSampler: ceil(1437 / 2) = 719 per rank, 12 batches of 64;
    # k-means init and two respawn events (steps 5, 10) run their collectives without a hang
    assert_sharded(*ddp_cli_run, steps_per_epoch=12)


def test_two_process_ddp_training_on_cpu_shards_mnist_in_memory(tmp_path: Path) -> None:
    # 180 generated MNIST images on the device-resident path: 90 per rank, 2 batches of 64
    write_mnist(tmp_path / "data", num_train=200, num_test=20)
    run_dir = tmp_path / "run"
    result = run_cli(
        [
            "trainer=ddp",
            "trainer.accelerator=cpu",
            "logger=csv",
            "trainer.max_epochs=1",
            "data=mnist",
            "data.in_memory=true",
            f"paths.data_dir={tmp_path / 'data'}",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
        timeout=600,
    )
    assert_sharded(result, run_dir, steps_per_epoch=2)
