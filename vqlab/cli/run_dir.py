"""A run's directory: fresh for a new run, the run's own for a resume, gone if training never began.

Layout: ``logs/<task>/runs/<time>/`` holds ``.hydra/``, ``train.log``, ``checkpoints/`` and the
loggers' files. ``ckpt_path=<run>/checkpoints/x.ckpt`` composes that run's config (its saved
overrides, then the new ones). ``resume=true`` with it continues the run in its own directory:
the newest ``checkpoints/last.ckpt``, one ``train.log``, and the same W&B run (its id is read from
``<run>/wandb/``), so one run is one directory and one curve, offline too; ``load_run``,
``vqlab.tokenize`` and the next ``resume=true`` find its newest checkpoint where they look.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra._internal.utils import get_args_parser
from omegaconf import DictConfig, OmegaConf

from vqlab.errors import ConfigError, RunDirectoryExistsError

RANK_VARIABLES = ("LOCAL_RANK", "RANK", "SLURM_PROCID")
CLAIM = ".vqlab-run"  # created with O_EXCL: the run that created it owns the directory
FRESH_HINT = (
    "choose a new directory (to resume, pass resume=true ckpt_path=<run>/checkpoints/last.ckpt, "
    "which continues in <run>)"
)
OVERRIDES = Path(".hydra") / "overrides.yaml"
NOT_INHERITED = ("ckpt_path", "resume", "hparams_search", "logger.wandb.id")
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


def checkpoint_run(checkpoint: Path) -> Path | None:
    """The run ``<run>/checkpoints/x.ckpt`` belongs to (it holds ``.hydra/overrides.yaml``), or
    None for a checkpoint outside a run directory."""
    run = Path(os.path.abspath(checkpoint)).parent.parent  # the path Hydra gave the run
    return run if (run / OVERRIDES).is_file() else None


def saved_overrides(run: Path) -> list[str]:
    """The command-line overrides ``run`` was trained (and resumed) with, less those that only
    concern how it was started: ``ckpt_path``, ``resume``, the sweeper (``hparams_search``) and
    the W&B run id that resuming adds."""
    saved = OmegaConf.load(run / OVERRIDES)
    return [line for line in saved if override_key(line) not in NOT_INHERITED]


def override_key(line: str) -> str:
    """``+model.x=1`` -> ``model.x``; ``model/quantizer=ste`` -> ``model/quantizer``."""
    return line.partition("=")[0].lstrip("+~")


def inherit_overrides(arguments: list[str]) -> list[str]:
    """``arguments`` after the overrides of the run that ``ckpt_path`` points into.

    ``ckpt_path=<run>/checkpoints/last.ckpt`` (with or without ``resume=true``) composes the
    run's own config: its saved overrides, then the new ones, which win key by key (a saved
    ``+key=...`` keeps its ``+`` when the new value replaces it). Arguments without a
    ``ckpt_path`` into a run directory come back unchanged.
    """
    checkpoints = [arg.partition("=")[2] for arg in arguments if override_key(arg) == "ckpt_path"]
    run = checkpoint_run(Path(checkpoints[-1])) if checkpoints and checkpoints[-1] else None
    if run is None:
        return arguments
    saved = saved_overrides(run)
    new_keys = {override_key(argument) for argument in arguments}
    inherited = [line for line in saved if override_key(line) not in new_keys]
    # a key the run added (`+key=...`) exists only through that override: keep the `+`
    added = {override_key(line) for line in saved if line.startswith("+")}
    return inherited + [
        f"+{argument}"
        if override_key(argument) in added and not argument.startswith(("+", "~"))
        else argument
        for argument in arguments
    ]


def wandb_run_id(run: Path) -> str | None:
    """The W&B run id of ``run`` (from its ``wandb/`` folder), or None."""
    matches = (WANDB_RUN.match(path.name) for path in run.glob("wandb/*run-*"))
    ids = {match["id"] for match in matches if match}
    if len(ids) > 1:
        raise ConfigError(f"{run} holds several W&B runs ({', '.join(sorted(ids))}): cannot resume")
    return ids.pop() if ids else None


def resume_overrides(cfg: DictConfig) -> list[str]:
    """The overrides that make ``resume=true`` continue ``ckpt_path``'s run in place.

    ``hydra.run.dir=<run>``: the continuation writes into the run's own directory (its
    ``checkpoints/`` then hold the newest ``last.ckpt``, its ``train.log`` grows, its ``.hydra/``
    holds the composition it continues with); with a W&B logger, the run's id
    (``logger.wandb.id=<id>``; the logger resumes a known id).
    """
    if not cfg.get("resume") or not is_rank_zero():
        return []
    checkpoint = cfg.get("ckpt_path")
    if not checkpoint:
        raise ConfigError(
            "resume=true continues a run from its checkpoint, got no ckpt_path: "
            "pass ckpt_path=<run>/checkpoints/last.ckpt"
        )
    run = checkpoint_run(Path(checkpoint))
    if run is None:
        raise ConfigError(
            f"resume=true continues the run a checkpoint belongs to, but {checkpoint} is not in a "
            "run directory's checkpoints/ (no ../.hydra/overrides.yaml): pass "
            "ckpt_path=<run>/checkpoints/last.ckpt, or drop resume=true to start a new run from it"
        )
    overrides = [f"hydra.run.dir={run}"]
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
