"""A normal run's console: the overrides, the run directory, the progress bar, the final table;
its train.log holds that and the rest; resume=true continues the same run and W&B run."""

from __future__ import annotations

import re
from pathlib import Path
from subprocess import CompletedProcess
from types import SimpleNamespace

import pytest
import torch
from conftest import run_cli

from vqlab.callbacks.progress_bar import EpochProgressBar

SHORT = [
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=3",
    "trainer.limit_val_batches=2",
    "trainer.limit_test_batches=2",
    "trainer.log_every_n_steps=1",
]
# Every console line of a normal run matches one of these (rich bars wrap their metrics).
ALLOWED = [
    r"vqlab\.train trainer\.max_epochs=1 .*",  # the overrides
    r"run directory: .*/run \(config: \.hydra/config\.yaml\)",
    r"(Epoch \d+/\d+|Validation|Testing|Sanity Checking) .*━.*",  # progress bars
    r"\s+(recon|vq|ppl|temp|val usage): \S+\s*",  # its metrics, one per line
    r"\s*test metrics\s*",  # the final table's title
    r"[┏┃┡│└].*",  # the final table
    r"",
]
UNWANTED = (
    "Tip",
    "anonymous",
    "LeafSpec",
    "GPU available",
    "wandb:",
    "Traceback",
    "| Name",
    "v_num",
)


@pytest.fixture(scope="module")
def normal_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CompletedProcess]:
    """One short default run (W&B offline), shared by the tests below; its run directory."""
    cwd = tmp_path_factory.mktemp("normal")
    result = run_cli([*SHORT, f"hydra.run.dir={cwd / 'run'}"], cwd=cwd)
    assert result.returncode == 0, result.stderr[-2000:]
    return cwd / "run", result


def test_a_normal_run_prints_only_overrides_directory_progress_and_table(normal_run) -> None:
    run_dir, result = normal_run
    console = (result.stdout + result.stderr).splitlines()
    stray = [line for line in console if not any(re.fullmatch(p, line) for p in ALLOWED)]
    assert not stray, stray
    assert any(line.startswith("│ ") and "test/recon_mse" in line for line in console)
    assert not any(word in line for line in console for word in UNWANTED)

    log = (run_dir / "train.log").read_text()
    for line in console[:2]:  # what the console showed, with time and source
        assert line in log
    assert "| Name" in log and "GPU available" in log  # model summary and device report
    assert "test/recon_mse" in log  # the final table
    assert "Tip" not in log


def test_resume_true_continues_the_run_and_its_wandb_run_in_its_own_directory(
    normal_run, tmp_path: Path
) -> None:
    run_dir, _ = normal_run
    (wandb_run,) = run_dir.glob("wandb/offline-run-*")
    run_id = wandb_run.name.rsplit("-", 1)[1]

    last = run_dir / "checkpoints" / "last.ckpt"
    second = run_cli(
        [*SHORT, "test=false", "trainer.max_epochs=2", "resume=true", f"ckpt_path={last}"],
        cwd=tmp_path,
    )
    assert second.returncode == 0, second.stderr[-2000:]
    checkpoint = torch.load(last, weights_only=False)
    assert checkpoint["global_step"] == 6  # 3 steps before, 3 after
    continued = set(run_dir.glob("wandb/offline-run-*")) - {wandb_run}
    assert [path.name.endswith(f"-{run_id}") for path in continued] == [True]  # one curve
    assert not (tmp_path / "logs").exists()  # nothing in the directory it was started from


def trainer(max_epochs: int) -> SimpleNamespace:
    return SimpleNamespace(max_epochs=max_epochs)


def test_progress_bar_reads_epoch_n_without_a_negative_limit() -> None:
    bar = EpochProgressBar()
    bar._trainer = trainer(-1)
    assert bar._get_train_description(3).strip() == "Epoch 3"
    bar._trainer = trainer(10)
    assert bar._get_train_description(3).strip() == "Epoch 3/9"
