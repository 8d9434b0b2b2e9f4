"""A run's directory: always fresh, in the run it resumes, gone if training never began.

Layout: ``logs/<task>/runs/<time>/`` holds ``.hydra/``, ``train.log``, ``checkpoints/`` and the
loggers' files. ``resume=true ckpt_path=<run>/checkpoints/last.ckpt`` writes the continuation into
``<run>/resumed/<time>/`` and continues the same W&B run (its id is read from ``<run>/wandb/``),
so one run's history is one curve, offline too.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra._internal.utils import get_args_parser
from omegaconf import DictConfig, OmegaConf

from vqlab.errors import ConfigError, RunDirectoryExistsError

RESUMED = "resumed"
RANK_VARIABLES = ("LOCAL_RANK", "RANK", "SLURM_PROCID")
CLAIM = ".vqlab-run"  # created with O_EXCL: the run that created it owns the directory
FRESH_HINT = (
    "choose a new directory (to resume, pass resume=true ckpt_path=<run>/checkpoints/last.ckpt: "
    "it writes into a new subfolder of that run)"
)
# W&B run folders: offline-run-<date>_<time>-<id> or run-<date>_<time>-<id>
WANDB_RUN = re.compile(r"^(?:offline-)?run-\d{8}_\d{6}-(?P<id>[a-z0-9]+)$")


def is_rank_zero() -> bool:
    """Whether this is the launching process: DDP workers get ``LOCAL_RANK`` > 0; the other
    tasks of a job that ``srun`` / ``torchrun`` started, ``SLURM_PROCID`` / ``RANK`` > 0."""
    return all(int(os.environ.get(name, "0")) == 0 for name in RANK_VARIABLES)


def check_fresh_output_dir(arguments: list[str], config_dir: Path | None = None) -> list[str]:
    """A new run never writes into an existing run or sweep directory; returns ``arguments``
    with a single run's directory pinned (``hydra.run.dir=<resolved path>``).

    A single run's directory is resolved here (``${now:...}`` included, so two runs started in
    the same second of a seconds-resolution pattern get the same path) and claimed atomically
    (``claim_run_dir``) before Hydra writes anything into it: of two runs given the same
    directory, the second is refused, however close together they start. A sweep directory
    given explicitly must be empty (checked, not claimed: its jobs share it). DDP workers
    (``LOCAL_RANK`` > 0), which Lightning starts in the same directory, skip this.
    """
    if not is_rank_zero():
        return arguments
    for argument in arguments:
        key, _, value = argument.partition("=")
        directory = Path(value)
        if key == "hydra.sweep.dir" and directory.is_dir() and any(directory.iterdir()):
            raise RunDirectoryExistsError(f"{key}={value} already holds a run: {FRESH_HINT}")
    args = get_args_parser().parse_args(arguments)
    if config_dir is None or args.multirun or args.cfg or args.help or args.hydra_help:
        return arguments  # a sweep, or nothing runs (Hydra prints the config or the help)
    directory = resolved_run_dir(args.overrides, args.config_name or "train", config_dir)
    claim_run_dir(directory)
    kept = [argument for argument in arguments if not argument.startswith("hydra.run.dir=")]
    return [*kept, f"hydra.run.dir={directory}"]


def resolved_run_dir(overrides: list[str], config_name: str, config_dir: Path) -> Path:
    """The directory Hydra would give this single run (``hydra.run.dir``, resolved now)."""
    with initialize_config_dir(str(config_dir), version_base="1.3", job_name="train"):
        cfg = compose(config_name, overrides=overrides, return_hydra_config=True)
    return Path(str(OmegaConf.select(cfg, "hydra.run.dir")))


def claim_run_dir(directory: Path) -> None:
    """Make ``directory`` this run's: create it and, atomically (``O_EXCL``), its claim file
    ``.vqlab-run``; refuse a directory already claimed or holding anything else."""
    directory.mkdir(parents=True, exist_ok=True)
    claim = directory / CLAIM
    taken = RunDirectoryExistsError(f"hydra.run.dir={directory} already holds a run: {FRESH_HINT}")
    try:
        descriptor = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        raise taken from None
    os.write(descriptor, f"{os.getpid()}\n".encode())
    os.close(descriptor)
    if any(path.name != CLAIM for path in directory.iterdir()):
        claim.unlink()
        raise taken


def run_root(checkpoint: Path) -> Path:
    """The run a checkpoint belongs to: ``<run>/checkpoints/x.ckpt`` -> ``<run>``, through
    ``<run>/resumed/<time>/checkpoints/x.ckpt`` as well."""
    run = checkpoint.resolve().parent.parent
    while run.parent.name == RESUMED:
        run = run.parent.parent
    return run


def wandb_run_id(run: Path) -> str | None:
    """The W&B run id of ``run`` (from its own or a resumed subfolder's ``wandb/``), or None."""
    folders = [*run.glob("wandb/*run-*"), *run.glob(f"{RESUMED}/*/wandb/*run-*")]
    ids = {match["id"] for match in (WANDB_RUN.match(path.name) for path in folders) if match}
    if len(ids) > 1:
        raise ConfigError(f"{run} holds several W&B runs ({', '.join(sorted(ids))}): cannot resume")
    return ids.pop() if ids else None


def resume_overrides(cfg: DictConfig) -> list[str]:
    """The overrides that make ``resume=true`` continue ``ckpt_path``'s run in place.

    ``hydra.run.dir=<run>/resumed/<time>``; with a W&B logger, the run's id
    (``logger.wandb.id=<id>``; the logger resumes a known id).
    """
    if not cfg.get("resume") or not is_rank_zero():
        return []
    checkpoint = cfg.get("ckpt_path")
    if not checkpoint or not Path(checkpoint).is_file():
        raise ConfigError(
            f"resume=true continues a run from its checkpoint, got ckpt_path={checkpoint}: "
            "pass ckpt_path=<run>/checkpoints/last.ckpt"
        )
    run = run_root(Path(checkpoint))
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S-%f")
    overrides = [f"hydra.run.dir={run / RESUMED / stamp}"]
    run_id = wandb_run_id(run)
    if "wandb" in (cfg.get("logger") or {}) and run_id is not None:
        overrides.append(f"logger.wandb.id={run_id}")
    return overrides


def discard(output_dir: Path) -> None:
    """Remove the directory of a run that failed before its first training step.

    Such a run (a bad value found while building, a missing dataset, Ctrl-C during setup) holds
    only its config and log: leaving it would bury the real runs. DDP workers remove nothing.
    """
    if is_rank_zero():
        shutil.rmtree(output_dir, ignore_errors=True)
