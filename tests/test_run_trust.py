"""Opening a run directory runs none of its author's code unless trusted: a foreign ``_target_``
(nested, or brought in by an interpolation) and a pickle payload are refused with one line by
``load_run`` and ``vqlab.tokenize``; ``trust=True`` / ``--trust`` opens them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from vqlab import tokenize
from vqlab.errors import UntrustedRunError
from vqlab.runs.loading import load_run


class Payload:
    """Unpickling it creates ``marker`` (a stand-in for any command)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (str(self.marker),))


@pytest.fixture
def run_dir(train_config, tmp_path: Path) -> Path:
    """A run directory: the composed config of a tiny VQ-VAE, its weights as last.ckpt."""
    cfg = train_config(["model.quantizer.codebook_size=16"])
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / "checkpoints").mkdir()
    OmegaConf.save(cfg, run / ".hydra" / "config.yaml")
    torch.save({"state_dict": instantiate(cfg.model).state_dict()}, run / "checkpoints/last.ckpt")
    return run


def edit_config(run: Path, **updates: object) -> None:
    path = run / ".hydra" / "config.yaml"
    config = OmegaConf.load(path)
    for key, value in updates.items():
        OmegaConf.update(config, key.replace("__", "."), value, force_add=True)
    OmegaConf.save(config, path)


def plant_payload(run: Path, marker: Path) -> None:
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    checkpoint["extra"] = Payload(marker)
    torch.save(checkpoint, run / "checkpoints" / "last.ckpt")


FOREIGN = {
    # a nested module of the model
    "model__encoder___target_": "os.makedirs",
    # a target that only appears once an interpolation is resolved
    "model__decoder___target_": "${oc.decode:'\"shutil.rmtree\"'}",
    # a class in vqlab that is not a model part
    "model__quantizer___target_": "vqlab.cli.run_dir.discard",
}


@pytest.mark.parametrize("key", sorted(FOREIGN))
def test_load_run_refuses_a_foreign_target_in_one_line(run_dir: Path, key: str) -> None:
    edit_config(run_dir, **{key: FOREIGN[key]})
    with pytest.raises(UntrustedRunError, match="names _target_") as error:
        load_run(run_dir, "last")
    assert "\n" not in str(error.value) and "trust=True" in str(error.value)


def test_load_run_refuses_a_pickle_payload_and_trust_opens_it(run_dir: Path, tmp_path: Path):
    marker = tmp_path / "payload-ran"
    plant_payload(run_dir, marker)
    with pytest.raises(UntrustedRunError, match=r"posix\.makedirs|os\.makedirs") as error:
        load_run(run_dir, "last")
    assert "\n" not in str(error.value)
    assert not marker.exists()
    load_run(run_dir, "last", trust=True)  # the caller vouches for the run: its code runs
    assert marker.exists()


def tokenize_line(monkeypatch, capsys, *arguments: str) -> str:
    monkeypatch.setattr("sys.argv", ["vqlab.tokenize", *arguments])
    with pytest.raises(SystemExit) as exit_info:
        tokenize.main()
    assert exit_info.value.code == 1
    (line,) = capsys.readouterr().err.splitlines()
    return line


def test_tokenize_refuses_a_foreign_target_and_a_pickle_payload(
    run_dir: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    arguments = (f"run_dir={run_dir}", "checkpoint=last", f"output={tmp_path / 'tokens'}")
    marker = tmp_path / "payload-ran"
    clean = (run_dir / "checkpoints" / "last.ckpt").read_bytes()
    plant_payload(run_dir, marker)
    line = tokenize_line(monkeypatch, capsys, *arguments)
    assert line.startswith("vqlab: error: checkpoint") and "--trust" in line
    assert not marker.exists()

    (run_dir / "checkpoints" / "last.ckpt").write_bytes(clean)
    edit_config(run_dir, data___target_="os.makedirs", data__name=str(marker))
    line = tokenize_line(monkeypatch, capsys, *arguments)
    assert line.startswith("vqlab: error: the data config names _target_ 'os.makedirs'")
    assert not marker.exists()
