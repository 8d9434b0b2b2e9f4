"""Bad input a new user meets is one line: unreadable image files (or skipped on request), the
tokenizer on other models, a sweep plugin or gdown that is not installed; and the tokenizer
handles VQ-VAE-2 runs, --help, a positional run directory and saves every split in order."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import CONF_DIR, compose_train_config
from fake_datasets import write_image_folder
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

import vqlab
import vqlab.cli.preflight
from vqlab import tokenize
from vqlab.cli.one_line import one_line_errors
from vqlab.cli.preflight import preflight
from vqlab.data import CelebADataModule, ImageFolderDataModule
from vqlab.errors import ConfigError, MissingDependencyError, UnreadableImageError
from vqlab.train import train


def image_folder(tmp_path: Path, damage: str) -> tuple[Path, Path]:
    """Six good images and one damaged PNG; the folder and the damaged file."""
    folder = tmp_path / "images"
    write_image_folder(folder, num=6, size=(10, 10))
    bad = folder / "bad.png"
    if damage == "empty":
        bad.write_bytes(b"")
    elif damage == "not_an_image":
        bad.write_text("just text with a .png name\n")
    else:  # truncated: a real PNG cut in half
        good = next(folder.rglob("*.png")).read_bytes()
        bad.write_bytes(good[: len(good) // 2])
    return folder, bad


@pytest.mark.parametrize("damage", ["empty", "not_an_image", "truncated"])
def test_an_unreadable_image_is_one_line_naming_it_or_skipped_on_request(damage, tmp_path) -> None:
    folder, bad = image_folder(tmp_path, damage)
    options = {"image_size": 8, "val_fraction": 0.3, "test_fraction": 0.3, "batch_size": 2}
    data = ImageFolderDataModule(str(folder), in_memory=True, **options)
    with pytest.raises(UnreadableImageError) as error:
        data.setup("fit")
    message = str(error.value)
    assert str(bad) in message and "data.skip_unreadable=true" in message and "\n" not in message

    data = ImageFolderDataModule(str(folder), in_memory=True, skip_unreadable=True, **options)
    data.setup("fit")
    assert sum(len(data.split_dataset(split)) for split in ("train", "val", "test")) == 6


def test_a_missing_sweep_plugin_names_the_sweep_extra(monkeypatch) -> None:
    def compose_without_plugins(*args, **kwargs):
        raise ConfigCompositionException(
            "In 'hparams_search/vqvae_optuna': Could not find 'hydra/sweeper/optuna'\n\n"
            "Available options in 'hydra/sweeper':\n\tbasic"
        )

    monkeypatch.setattr(vqlab.cli.preflight, "compose", compose_without_plugins)
    with pytest.raises(ConfigError) as error:
        preflight(["hparams_search=vqvae_optuna"], CONF_DIR)
    assert "pip install 'vqlab[sweep]'" in str(error.value) and "sweeper 'optuna'" in str(
        error.value
    )


def test_celeba_download_without_gdown_is_one_line(tmp_path: Path) -> None:
    if importlib.util.find_spec("gdown") is not None:
        pytest.skip("gdown is installed")  # without it torchvision stops before any network access
    data = CelebADataModule(str(tmp_path), download=True)
    with pytest.raises(MissingDependencyError, match="pip install gdown"):
        data.prepare_data()


@pytest.fixture(scope="module")
def vqvae2_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-step VQ-VAE-2 run on the digits, as a run directory (.hydra/config.yaml, last.ckpt)."""
    root = tmp_path_factory.mktemp("vqvae2")
    overrides = ["model=vqvae2", "logger=none", "test=false", "trainer.max_epochs=1"]
    overrides += ["trainer.limit_train_batches=2", "trainer.limit_val_batches=1"]
    overrides += ["trainer.enable_progress_bar=false", "callbacks.codebook_figures=null"]
    cfg = compose_train_config(overrides, root)
    train(cfg)
    (root / "run" / ".hydra").mkdir()
    OmegaConf.save(cfg, root / "run" / ".hydra" / "config.yaml")
    return root / "run"


def test_tokenize_a_vqvae2_run_writes_each_level_of_the_train_split_in_order(vqvae2_run) -> None:
    path = tokenize.tokenize([str(vqvae2_run), "split=train", "checkpoint=last"])
    tokens = vqvae2_run / "tokens"
    assert path == tokens / "train_top.npy"
    top, bottom = np.load(tokens / "train_top.npy"), np.load(tokens / "train_bottom.npy")
    labels = np.load(tokens / "train_labels.npy")
    metadata = json.loads((tokens / "train.json").read_text())
    assert metadata["levels"] == {
        "top": {"codebook_size": 64, "grid_shape": [2, 2]},
        "bottom": {"codebook_size": 64, "grid_shape": [4, 4]},
    }
    assert top.shape[0] == bottom.shape[0] == labels.shape[0] == metadata["num_items"]
    assert (labels == -1).all()  # the digits datamodule serves no labels

    model = vqlab.load_run(vqvae2_run, "last")
    config = OmegaConf.load(vqvae2_run / ".hydra" / "config.yaml")
    datamodule = tokenize.instantiate(config.data)
    datamodule.setup("fit")
    rows = datamodule.split_dataset("train").tensors[0][:5]  # the first items, in dataset order
    with torch.no_grad():
        expected_top, expected_bottom = model.encode(rows)
    assert np.array_equal(top[:5], expected_top.numpy())
    assert np.array_equal(bottom[:5], expected_bottom.numpy())


def test_tokenize_refuses_a_model_without_a_codebook_in_one_line(tmp_path, capsys) -> None:
    run = tmp_path / "cae"
    (run / ".hydra").mkdir(parents=True)
    (run / "checkpoints").mkdir()
    OmegaConf.save(compose_train_config(["model=cae"], tmp_path), run / ".hydra" / "config.yaml")
    (run / "checkpoints" / "last.ckpt").write_bytes(b"")
    with pytest.raises(SystemExit), one_line_errors():
        tokenize.tokenize([f"run_dir={run}", "checkpoint=last"])
    (line,) = capsys.readouterr().err.splitlines()
    assert "ConcreteAutoencoder has no codebook to tokenize with" in line


def test_tokenize_help_prints_the_usage(capsys, monkeypatch) -> None:
    monkeypatch.setattr("sys.argv", ["vqlab.tokenize", "--help"])
    tokenize.main()
    assert "run_dir" in capsys.readouterr().out


def test_a_positional_argument_is_the_run_directory() -> None:
    assert tokenize.parse_arguments(["logs/run", "split=val"]) == (
        {"run_dir": "logs/run", "split": "val"},
        [],
    )
