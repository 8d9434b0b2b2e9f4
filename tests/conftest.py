"""Shared test helpers: compose vqlab's Hydra configs in-process and run them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import lightning as L
import pytest
from ddp_group import DDPResults, run_group
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = REPO_ROOT / "conf"


def compose_train_config(overrides: Sequence[str], run_dir: Path) -> DictConfig:
    """``conf/train.yaml`` with ``overrides``, its paths pointed into ``run_dir``."""
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose(
            "train",
            overrides=[
                f"paths.root_dir={run_dir}",
                f"paths.output_dir={run_dir / 'run'}",
                *overrides,
            ],
        )


def quiet_trainer(**kwargs) -> L.Trainer:
    """A CPU ``Trainer`` without logger, checkpoints, progress bar or summary; ``kwargs`` add to
    or replace those settings."""
    settings = {
        "accelerator": "cpu",
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
    }
    return L.Trainer(**{**settings, **kwargs})


def run_cli(
    args: Sequence[str], cwd: Path, timeout: float = 300, pythonpath_tests: bool = False
) -> subprocess.CompletedProcess:
    """``python -m vqlab.train ARGS`` in ``cwd`` (the repo on PYTHONPATH, and tests/ with
    ``pythonpath_tests``: the probes of ``train_probes``), output captured."""
    path = [str(REPO_ROOT), *([str(REPO_ROOT / "tests")] if pythonpath_tests else [])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), "WANDB_MODE": "offline"}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [sys.executable, "-m", "vqlab.train", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def train_config(tmp_path: Path):
    """Factory fixture: ``train_config(["model=vqvae_ste", ...])`` -> composed DictConfig."""
    return lambda overrides=(): compose_train_config(overrides, tmp_path)


# `make test-fast` runs `pytest -m "not slow"`; `make test` runs everything. These tests get the
# `slow` marker: they spawn a process (the CLI, a script, a wheel build), start a DDP process
# group, or train past a few steps; each took over ~1.5 s on 2 cores. Entries are node ids
# relative to tests/: a whole file, one test, or one parametrisation (`test_x.py::test_y[z]`).
SLOW_FILES = (
    # processes: the CLI, experiment scripts, README sweeps, the wheel
    "test_cli.py",
    "test_console.py",
    "test_data_cli.py",
    "test_experiments.py",
    "test_hcvq_cli.py",
    "test_logging.py",
    "test_readme_sweeps.py",
    "test_wheel.py",
    # DDP process groups
    "test_codebook_callbacks_ddp.py",
    "test_ddp.py",
    "test_ddp_levers.py",
    "test_ddp_resume.py",
    "test_learnable_vq_ddp.py",
    "test_vqvae2_ddp.py",
    "test_entropy_scale_ddp.py",
    # a checkpoint write killed in a subprocess
    "test_atomic_checkpoints.py",
    # a step (or an epoch) of every option and recipe of the README's tables; figures of real runs
    "test_options_alone.py",
    "test_signals.py",
    # training runs and resumes
    "test_exact_resume.py",
    "test_step_checkpoint.py",
    "test_training.py",
    "test_vqvae2_training.py",
    "test_finite_checkpoints.py",
)
SLOW_TESTS = (
    # a Trainer run of every model on both embedded datasets (up to ~10 s each)
    "test_configs.py::test_every_model_runs_a_fast_dev_run_on_embedded_data",
    "test_lever_configs.py::test_grouped_run_logs_usage_per_codebook_and_growth_runs_in_lightning",
    "test_linear_vq_configs.py::test_linear_vq_experiments_run_a_fast_dev_run",
    "test_step_bookkeeping.py::test_every_model_logs_one_usage_window_per_window_of_optimizer_steps",
    "test_step_bookkeeping.py::test_image_models_log_psnr_and_ssim_of_their_evaluation_reconstructions",
    "test_assignment_images.py::test_a_run_writes_non_blank_heat_maps_every_n_epochs_and_at_the_end",
    "test_bad_input.py::test_tokenize_a_vqvae2_run_writes_each_level_of_the_train_split_in_order",
    # k-means++ (sequential draws) as the reference of the batched seeding, 2 seeds
    "test_kmeans_init.py::test_batched_seeding_is_within_2_percent_of_kmeans_plus_plus_after_lloyd",
    "test_learnable_vq_model.py::test_experiment_config_and_tabular_data_run_a_fast_dev_run",
    # the random-start search (one restart, ~4500 small steps) and one epoch on the planted table
    "test_learnable_random_start.py::test_random_start_recovers_the_planted_groups",
    # training of a few dozen steps, resumes compared with the uninterrupted run
    "test_hcvq_model.py::test_resume_from_last_checkpoint_reproduces_uninterrupted_training",
    "test_hcvq_model.py::test_reference_validation_updates_the_entropy_schedule_with_a_fresh_pairing",
    "test_temperature.py::test_trainer_drives_the_schedule_and_resume_continues_it",
    "test_topology_reusable.py::test_process_refresh_equals_synchronous_and_resumes_exactly",
    "test_learnable_vq_model.py::test_clustering_init_recovers_groups_and_freeze_at_zero_keeps_it",
    "test_learnable_vq_model.py::test_resume_restores_logits_temperature_and_both_groups_optimizer_state",
    "test_concrete_model.py::test_training_logs_the_cae_metrics_and_the_pixel_mask",
    "test_linear_vq.py::test_manual_gradients_train_exactly_like_autograd",
    "test_linear_vq.py::test_every_method_lowers_the_loss_from_a_random_start",
    "test_linear_vq.py::test_encoder_is_orthonormal_to_1e5_after_every_step",
    "test_vqvae2_codebook_callbacks.py::test_kmeans_init_fits_each_level_to_its_own_inputs",
    # large tensors: the blocked searches against the dense reference, a deep gradient check
    "test_quantizers.py::test_blocked_search_equals_one_block",
    "test_composite_quantizers.py::test_blocked_soft_assignment_and_its_gradient_equal_the_dense_softmax",
    "test_vqvae2.py::test_top_gradient_reaches_the_top_encoder_through_the_bottom_path",
    # torch.compile of the encoder and decoder on the CPU (inductor, a C compiler): ~25 s
    "test_acceleration.py::test_a_compiled_run_trains_and_its_checkpoint_loads_into_an_eager_model",
    # one CLI process or script each
    "test_learnable_vq_model.py::test_cli_reports_too_few_categories_as_one_line",
    "test_linear_vq_configs.py::test_unknown_estimator_on_the_command_line_is_one_line",
    "test_topology_reusable.py::test_unguarded_script_falls_back_to_synchronous_pairing_with_one_warning",
)
SLOW = SLOW_FILES + SLOW_TESTS


def marked_slow(nodeid: str, entries: Sequence[str] = SLOW) -> str | None:
    """The ``SLOW`` entry that covers the test ``nodeid`` (``tests/test_x.py::test_y[z]``)."""
    relative = nodeid.removeprefix("tests/")
    for entry in entries:
        if relative == entry or relative.startswith((f"{entry}::", f"{entry}[")):
            return entry
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the ``SLOW`` tests; refuse an entry that matches no test of a collected file (a
    renamed test would otherwise slip into `make test-fast`)."""
    used = set()
    for item in items:
        entry = marked_slow(item.nodeid)
        if entry is not None:
            item.add_marker(pytest.mark.slow)
            used.add(entry)
    collected = {item.nodeid.removeprefix("tests/").split("::")[0] for item in items}
    stale = [e for e in SLOW if e.split("::")[0] in collected and e not in used]
    whole_files = not any("::" in argument for argument in config.args)  # not `pytest f.py::t`
    if stale and whole_files:
        raise pytest.UsageError(f"tests/conftest.py SLOW names no collected test: {stale}")


# --- Shared process groups and in-process entry points (the suite's speed) ---------------------


@pytest.fixture(scope="session")
def ddp_results(request: pytest.FixtureRequest, tmp_path_factory) -> DDPResults:
    """Every selected DDP scenario (the ``DDP_WORKERS`` of the modules whose tests take this
    fixture) run in one two-process gloo group; see ``tests/ddp_group.py``."""
    workers = []
    for item in request.session.items:
        if "ddp_results" in getattr(item, "fixturenames", ()):
            workers += [w for w in getattr(item.module, "DDP_WORKERS", ()) if w not in workers]
    return run_group(tmp_path_factory.mktemp("ddp"), workers)


@pytest.fixture(scope="session")
def ddp_cli_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess, Path]:
    """One real ``python -m vqlab.train trainer=ddp`` (two gloo ranks on CPU): one epoch of the
    digits with the default callbacks (respawn every 5 steps), W&B offline and CSV. Shared by the
    tests of sharding (``test_cli``) and of rank-zero-only logging (``test_dashboards``)."""
    cwd = tmp_path_factory.mktemp("ddp_cli")
    run_dir = cwd / "run"
    result = run_cli(
        [
            "trainer=ddp",
            "trainer.accelerator=cpu",
            "logger=[wandb,csv]",
            "trainer.max_epochs=1",
            "data=digits",
            "callbacks.respawn.every_n_steps=5",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=cwd,
        timeout=600,
    )
    return result, run_dir
