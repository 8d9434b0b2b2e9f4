"""README "Sweeping and reporting": every command runs as written (shrunk to seconds), and does
what the README says: grid and Optuna sweeps, SLURM config, submitit on this machine, W&B runs
with readable names, summaries and real images, the report, load_run and tokenize."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO_ROOT
from hydra.utils import instantiate
from in_process import run_cli_in_process
from omegaconf import OmegaConf
from PIL import Image
from wandb_records import read_records

import vqlab
from vqlab.report.jobs import final_metrics
from vqlab.tokenize import split_batches

pytestmark = pytest.mark.slow

# one epoch of a few batches; codebook statistics and train metrics every step
SHRINK_TRAIN = [
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=3",
    "trainer.limit_val_batches=2",
    "trainer.log_every_n_steps=1",
]
SHRINK_VQ = ["model.usage_window=2"]
SHRINK_OPTUNA = ["hydra.sweeper.n_trials=3", "hydra.sweeper.sampler.n_startup_trials=2"]
# what the tests read of these runs needs no test stage
SHRINK_UNTESTED = ["test=false"]
# commands whose entry point runs in this process (a fresh interpreter costs more than their
# training); the grid and the W&B run stay real `python -m vqlab.train` processes, and the report
# and tokenize commands are those entry points' real runs
IN_PROCESS = {"optuna_vqvae", "optuna_cae", "slurm", "local"}


def readme_section() -> str:
    text = (REPO_ROOT / "README.md").read_text()
    return text.split("## Sweeping and reporting", 1)[1].split("\n## ", 1)[0]


def readme_commands() -> list[str]:
    """The section's shell commands (lines running python), in order."""
    (block,) = re.findall(r"```bash\n(.*?)```", readme_section(), re.S)
    return [line for line in block.splitlines() if "python -m" in line]


def readme_python() -> str:
    (block,) = re.findall(r"```python\n(.*?)```", readme_section(), re.S)
    return block


def run_command(
    line: str, extra: list[str], cwd: Path, in_process: bool = False
) -> subprocess.CompletedProcess:
    """Run a README command line (``VAR=value`` prefixes become environment) plus ``extra``; a
    ``python -m vqlab.train`` line ``in_process`` runs its entry point in this process."""
    words = shlex.split(line)
    prefixes = {}
    while "=" in words[0]:
        key, _, value = words.pop(0).partition("=")
        prefixes[key] = value
    assert words[0] == "python"
    if in_process:
        assert words[1:3] == ["-m", "vqlab.train"], line
        return run_cli_in_process([*words[3:], *extra], cwd, prefixes)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "WANDB_MODE": "offline", **prefixes}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [sys.executable, *words[1:], *extra],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def readme_runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run every README command once; returns {name: (result, output folder)}."""
    root = tmp_path_factory.mktemp("readme")
    grid_dir = root / "grid"
    commands = readme_commands()
    placeholder = "logs/train/multiruns/<time>"
    shrink = {
        "grid": [*SHRINK_TRAIN, *SHRINK_VQ, f"hydra.sweep.dir={grid_dir}"],
        "optuna_vqvae": [
            *SHRINK_TRAIN,
            *SHRINK_UNTESTED,
            *SHRINK_VQ,
            *SHRINK_OPTUNA,
            "logger=csv",
        ],
        # the CAE anneals its temperature: a schedule needs at least 2 epochs
        "optuna_cae": [
            *SHRINK_TRAIN,
            *SHRINK_UNTESTED,
            "trainer.max_epochs=2",
            "hydra.sweeper.n_trials=2",
            "logger=csv",
        ],
        "slurm": ["--cfg", "all"],
        "local": [*SHRINK_TRAIN, *SHRINK_UNTESTED, *SHRINK_VQ, "logger=csv"],
        "wandb": [*SHRINK_TRAIN, *SHRINK_UNTESTED, *SHRINK_VQ],
        "report": [],
        "tokenize": [],
    }
    assert len(commands) == len(shrink), commands
    runs = {}
    for (name, extra), line in zip(shrink.items(), commands, strict=True):
        if name == "slurm":  # print the launcher's config instead of submitting: one job, no -m
            line = re.sub(r"=(\w+),\S+", r"=\1", line.replace(" -m hydra", " hydra"))
        output = grid_dir if name in ("grid", "report", "tokenize") else root / name
        if name in ("optuna_vqvae", "optuna_cae", "local"):
            extra = [*extra, f"hydra.sweep.dir={output}"]
        elif name == "wandb":
            extra = [*extra, f"hydra.run.dir={output}"]
        start = time.perf_counter()
        line = line.replace(placeholder, str(grid_dir))
        result = run_command(line, extra, root, in_process=name in IN_PROCESS)
        print(f"{name}: {time.perf_counter() - start:.1f} s (load {os.getloadavg()[0]:.1f})")
        assert result.returncode == 0, (line, result.stderr[-3000:])
        runs[name] = (result, output)
    runs["python"] = readme_python().replace(placeholder, str(grid_dir))
    return runs


def job_dirs(sweep_dir: Path) -> list[Path]:
    return sorted(d for d in sweep_dir.iterdir() if d.is_dir() and d.name.isdigit())


def run_record(job: Path):
    (wandb_file,) = job.glob("wandb/offline-run-*/run-*.wandb")
    records = read_records(wandb_file)
    (run,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    metrics = {r.metric.name: r.metric for r in records if r.WhichOneof("record_type") == "metric"}
    updates = [*run.config.update]
    updates += [
        i for r in records if r.WhichOneof("record_type") == "config" for i in r.config.update
    ]
    config = {item.key: json.loads(item.value_json) for item in updates}
    return run, metrics, config


def test_grid_jobs_are_named_grouped_and_summarised_on_wandb(readme_runs: dict) -> None:
    _, grid_dir = readme_runs["grid"]
    names = set()
    for job in job_dirs(grid_dir):
        overrides = OmegaConf.load(job / ".hydra" / "overrides.yaml")
        run, metrics, config = run_record(job)
        model = next(o.split("=")[1] for o in overrides if o.startswith("model="))
        size = next(o.split("=")[1] for o in overrides if "codebook_size" in o)
        # the model, then the overrides (here followed by the shrinking ones)
        assert run.display_name.startswith(f"{model} codebook_size={size} max_epochs=1")
        assert run.run_group == grid_dir.name
        assert run.job_type == model
        assert config["overrides"]["model.quantizer.codebook_size"] == size
        assert config["model"]["quantizer"]["codebook_size"] == int(size)  # resolved config
        perplexity = metrics["codebook/perplexity"]
        assert perplexity.step_metric == "trainer/global_step"
        assert perplexity.summary.max and perplexity.summary.last
        assert metrics["val/recon_mse"].summary.min
        names.add(run.display_name)
    assert len(names) == 4


def test_wandb_image_files_span_0_to_255_and_small_grids_are_enlarged(readme_runs: dict) -> None:
    _, grid_dir = readme_runs["grid"]
    job = job_dirs(grid_dir)[0]
    (media,) = job.glob("wandb/offline-run-*/files/media/images")
    (reconstructions,) = media.glob("val/reconstructions_*.png")
    pixels = np.asarray(Image.open(reconstructions))
    # 16 digits of 8x8 in a padded grid (162 x 22) enlarged 6x, nearest, after a margin that
    # names the rows (6 pixels a character of "output", 8 around)
    assert pixels.shape == (22 * 6, 162 * 6 + 8 + 6 * len("output"), 3)
    assert pixels.min() == 0 and pixels.max() == 255
    assert len(np.unique(pixels)) > 16  # grey levels, not the 0/1 of a float cast
    (saved,) = job.glob("reconstructions/epoch_000_step_*.png")
    assert np.array_equal(pixels, np.asarray(Image.open(saved)))
    for name in ("usage_histogram", "pca"):
        (figure,) = media.glob(f"codebook/{name}_*.png")
        assert np.asarray(Image.open(figure)).max() == 255
    assert list(job.glob("codebook_usage/epoch_000_step_*.png"))
    assert list(job.glob("codebook_pca/epoch_000_step_*.png"))


def test_report_has_one_row_per_job_sorted_and_its_plots(readme_runs: dict) -> None:
    result, grid_dir = readme_runs["report"]
    lines = (grid_dir / "report.md").read_text().splitlines()
    header = next(line for line in lines if line.startswith("| job"))
    assert "model.quantizer.codebook_size" in header and "val/recon_mse" in header
    rows = [line for line in lines if re.match(r"\| \d+ \|", line)]
    assert len(rows) == 4
    column = header.split(" | ").index("val/recon_mse")
    values = [float(row.split(" | ")[column]) for row in rows]
    assert values == sorted(values)
    assert (grid_dir / "report_perplexity_vs_recon.png").is_file()
    assert (grid_dir / "report_val_recon_mse_vs_params.png").is_file()
    assert "val/recon_mse" in result.stdout  # the rich table


def test_optuna_sweeps_finish_and_write_their_best_value(readme_runs: dict) -> None:
    for name, trials in (("optuna_vqvae", 3), ("optuna_cae", 2)):
        _, sweep_dir = readme_runs[name]
        assert len(job_dirs(sweep_dir)) == trials
        results = OmegaConf.load(sweep_dir / "optimization_results.yaml")
        assert 0.0 < float(results.best_value) < 10.0


def test_slurm_launcher_takes_partition_from_env_and_one_task_per_gpu(
    readme_runs: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, _ = readme_runs["slurm"]
    monkeypatch.setenv("SLURM_PARTITION", "gpu")  # as the command's environment had it
    launcher = OmegaConf.create(result.stdout).hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.partition, launcher.nodes, launcher.tasks_per_node) == ("gpu", 2, 4)
    assert launcher.gpus_per_task == 1


def test_submitit_local_multirun_completes_both_jobs(readme_runs: dict) -> None:
    _, sweep_dir = readme_runs["local"]
    jobs = job_dirs(sweep_dir)
    assert len(jobs) == 2
    assert all((job / "checkpoints" / "last.ckpt").is_file() for job in jobs)
    assert any((sweep_dir / ".submitit").iterdir())


def test_single_wandb_run_is_named_after_its_model_and_overrides(readme_runs: dict) -> None:
    _, run_dir = readme_runs["wandb"]
    run, _, _ = run_record(run_dir)
    assert run.display_name.startswith("vqvae_ema max_epochs=1") and run.job_type == "vqvae_ema"


def test_loaded_model_reproduces_the_logged_test_mse(readme_runs: dict) -> None:
    _, grid_dir = readme_runs["grid"]
    job = job_dirs(grid_dir)[0]
    namespace: dict = {}
    exec(readme_runs["python"], namespace)  # the README's example, as written
    model, x = namespace["model"], namespace["x"]
    assert namespace["indices"].shape == (16, 4, 4)
    torch.testing.assert_close(namespace["x_hat"], model(x)[0])

    config = OmegaConf.load(job / ".hydra" / "config.yaml")
    datamodule = instantiate(config.data)
    squared, count = 0.0, 0
    with torch.no_grad():
        for batch in split_batches(datamodule, "test", torch.device("cpu")):
            squared += (model.decode(model.encode(batch)) - batch).pow(2).sum().item()
            count += batch.numel()
    logged = final_metrics(job)["test/recon_mse"]
    assert squared / count == pytest.approx(logged, rel=1e-5)


def test_tokenize_writes_the_indices_encode_gives(readme_runs: dict) -> None:
    _, grid_dir = readme_runs["tokenize"]
    job = job_dirs(grid_dir)[0]
    tokens = np.load(job / "tokens" / "test.npy")
    metadata = json.loads((job / "tokens" / "test.json").read_text())
    model = vqlab.load_run(job, checkpoint="best")
    datamodule = instantiate(OmegaConf.load(job / ".hydra" / "config.yaml").data)
    with torch.no_grad():
        expected = torch.cat(
            [model.encode(x) for x in split_batches(datamodule, "test", torch.device("cpu"))]
        )
    assert np.array_equal(tokens, expected.numpy())
    assert tokens.shape[1:] == (4, 4)  # the 4x4 latent grid of 8x8 digits
    codebook_size = int(
        OmegaConf.load(job / ".hydra" / "config.yaml").model.quantizer.codebook_size
    )
    assert metadata["codebook_size"] == codebook_size
    assert metadata["grid_shape"] == [4, 4]
