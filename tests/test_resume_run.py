"""Starting from a run's checkpoint composes that run's config; resume=true continues it in place,
so the run's checkpoints/ hold its newest state; a bad checkpoint is one line before anything is
written."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import run_cli
from hydra.utils import instantiate
from omegaconf import OmegaConf

from vqlab.cli.checkpoint import check_checkpoint
from vqlab.cli.run_dir import inherit_overrides, resume_overrides
from vqlab.errors import CheckpointMismatchError, ConfigError, VqlabError
from vqlab.runs.loading import load_run
from vqlab.train import CONFIG_DIR  # noqa: F401 (registers the config resolvers)

QUICK = ["logger=none", "trainer.limit_train_batches=3", "trainer.limit_val_batches=2"]


def fake_run(run: Path, overrides: list[str], config=None) -> Path:
    """A run directory as Hydra leaves it: .hydra/overrides.yaml (+ config.yaml); its last.ckpt."""
    (run / ".hydra").mkdir(parents=True)
    (run / "checkpoints").mkdir()
    OmegaConf.save(OmegaConf.create(overrides), run / ".hydra" / "overrides.yaml")
    if config is not None:
        OmegaConf.save(config, run / ".hydra" / "config.yaml")
        model = instantiate(config.model)
        torch.save({"state_dict": model.state_dict()}, run / "checkpoints" / "last.ckpt")
    return run / "checkpoints" / "last.ckpt"


def test_a_checkpoint_in_a_run_composes_its_overrides_and_the_new_ones_win(tmp_path) -> None:
    saved = [
        "model=vqvae_ste",
        "trainer.max_epochs=1",
        "+trainer.detect_anomaly=false",
        "resume=true",  # how the run was started, not part of its config
        "ckpt_path=old.ckpt",
        "hparams_search=vqvae_optuna",
        "logger.wandb.id=abc",
    ]
    last = fake_run(tmp_path / "run", saved)
    new = [
        f"ckpt_path={last}",
        "resume=true",
        "trainer.max_epochs=2",
        "trainer.detect_anomaly=true",
    ]
    assert inherit_overrides(new) == [
        "model=vqvae_ste",
        f"ckpt_path={last}",
        "resume=true",
        "trainer.max_epochs=2",
        "+trainer.detect_anomaly=true",  # the run added the key: the new value keeps the +
    ]
    outside = tmp_path / "elsewhere" / "x.ckpt"
    assert inherit_overrides([f"ckpt_path={outside}", "seed=2"]) == [
        f"ckpt_path={outside}",
        "seed=2",
    ]


def test_resume_writes_into_the_run_itself(tmp_path) -> None:
    last = fake_run(tmp_path / "run", ["model=vqvae_ste"])
    cfg = OmegaConf.create({"resume": True, "ckpt_path": str(last), "logger": None})
    assert resume_overrides(cfg) == [f"hydra.run.dir={tmp_path / 'run'}"]


def test_resume_from_a_checkpoint_outside_a_run_is_refused_and_creates_nothing(tmp_path) -> None:
    loose = tmp_path / "downloads" / "model.ckpt"
    loose.parent.mkdir()
    loose.write_bytes(b"")
    cfg = OmegaConf.create({"resume": True, "ckpt_path": str(loose), "logger": None})
    with pytest.raises(ConfigError, match="not in a run directory") as error:
        resume_overrides(cfg)
    assert "drop resume=true" in str(error.value)
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["downloads", "model.ckpt"]


def test_a_checkpoint_that_does_not_fit_names_both_configs(tmp_path, train_config) -> None:
    trained = train_config(["model=vqvae_ste"])
    last = fake_run(tmp_path / "run", ["model=vqvae_ste"], trained)
    composed = train_config(["model=vqvae_ema", f"ckpt_path={last}"])
    with pytest.raises(CheckpointMismatchError) as error:
        check_checkpoint(composed)
    message = str(error.value)
    assert "\n" not in message
    assert "composes (VQVAE with EMAQuantizer" in message and "quantizer.cluster_size" in message
    assert (
        f"trained as VQVAE with STEQuantizer ({tmp_path / 'run' / '.hydra' / 'config.yaml'})"
        in message
    )
    check_checkpoint(train_config(["model=vqvae_ste", f"ckpt_path={last}"]))  # it fits: no error


@pytest.mark.parametrize("damage", ["missing", "truncated", "text", "foreign"])
def test_a_bad_checkpoint_file_is_one_line_naming_it(damage, tmp_path, train_config) -> None:
    trained = train_config(["model=vqvae_ste"])
    last = fake_run(tmp_path / "run", ["model=vqvae_ste"], trained)
    if damage == "missing":
        last.unlink()
    elif damage == "truncated":
        last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    elif damage == "text":
        last.write_text("not a checkpoint\n")
    else:
        torch.save({"weights": torch.zeros(2)}, last)
    for check in (
        lambda: check_checkpoint(train_config(["model=vqvae_ste", f"ckpt_path={last}"])),
        lambda: load_run(tmp_path / "run", "last"),
    ):
        with pytest.raises(VqlabError) as error:  # missing from a run dir: RunDirectoryError
            check()
        assert str(last.parent) in str(error.value) and "\n" not in str(error.value)


@pytest.mark.slow
def test_resume_true_alone_continues_a_vqvae_ste_run_where_everything_finds_its_newest_state(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    first = run_cli(
        ["model=vqvae_ste", *QUICK, "trainer.max_epochs=1", f"hydra.run.dir={run}"], tmp_path
    )
    assert first.returncode == 0, first.stderr[-2000:]
    last = run / "checkpoints" / "last.ckpt"
    for epochs, steps in ((2, 6), (3, 9)):  # the second resume starts from the first's checkpoint
        resumed = run_cli(
            ["resume=true", f"ckpt_path={last}", f"trainer.max_epochs={epochs}"], tmp_path
        )
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert torch.load(last, weights_only=False)["global_step"] == steps
    assert "model=vqvae_ste" in OmegaConf.load(run / ".hydra" / "overrides.yaml")
    assert sorted(path.name for path in run.iterdir() if path.is_dir()) == [
        ".hydra", "checkpoints", "codebook_pca", "codebook_usage", "reconstructions"
    ]  # fmt: skip
    newest = torch.load(last, weights_only=False)["state_dict"]
    loaded = load_run(run, "last").state_dict()  # rebuilt from the run's own config: STE
    assert all(torch.equal(loaded[name], value) for name, value in newest.items())
    before = {path: path.stat().st_mtime_ns for path in run.rglob("*")}
    refused = run_cli(["resume=true", f"ckpt_path={last}", "model=vqvae_ema"], tmp_path)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "STEQuantizer" in refused.stderr and "EMAQuantizer" in refused.stderr
    assert {path: path.stat().st_mtime_ns for path in run.rglob("*")} == before
