"""Dashboard pieces and the one-line errors of sweeps, reports and loading, on tiny inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from PIL import Image
from sklearn.decomposition import PCA
from wandb_records import read_records

from vqlab import tokenize
from vqlab.callbacks.codebook_figures import principal_plane
from vqlab.callbacks.image_logging import to_uint8, upscale_factor
from vqlab.cli.one_line import one_line_errors
from vqlab.cli.sweep_metric import optimized_value
from vqlab.errors import (
    CheckpointMismatchError,
    ConfigError,
    RunDirectoryError,
    UnknownConfigKeyError,
)
from vqlab.loggers import run_name
from vqlab.report import __main__ as report
from vqlab.runs.loading import load_run


def test_float_images_become_0_to_255_and_small_ones_are_enlarged_by_nearest() -> None:
    image = torch.tensor([0.0, 0.5, 1.0, 2.0]).repeat(22, 41)[:, :162].expand(1, 22, 162)
    pixels = to_uint8(image)
    assert pixels.dtype == np.uint8 and pixels.shape == (132, 972, 3)  # 6x, the digit grid
    assert sorted(np.unique(pixels)) == [0, 128, 255]  # round(255 * 0.5) = 128, 2.0 clamps
    assert (pixels[:6, :6] == 0).all() and (pixels[:6, 6:12] == 128).all()  # 6x6 blocks


@pytest.mark.parametrize(
    ("shape", "factor"), [((22, 162), 6), ((500, 500), 1), ((64, 64), 2), ((8, 4000), 1)]
)
def test_upscale_factor_reaches_128_pixels_without_passing_2048(shape, factor) -> None:
    assert upscale_factor(*shape) == factor


def test_principal_plane_equals_sklearn_pca_up_to_sign() -> None:
    points = torch.randn(50, 6, generator=torch.Generator().manual_seed(0)) * torch.arange(1, 7)
    expected = PCA(n_components=2).fit_transform(points.numpy())
    ours = principal_plane(points).numpy()
    np.testing.assert_allclose(np.abs(ours), np.abs(expected), atol=1e-4)
    assert principal_plane(torch.randn(5, 1)).shape == (5, 2)  # d = 1 is padded


def test_run_name_is_the_model_then_the_overrides() -> None:
    overrides = ["model=vqvae_ste", "model.quantizer.codebook_size=64", "hydra.sweep.dir=x"]
    assert run_name(overrides, "vqvae_ste") == "vqvae_ste codebook_size=64"
    assert run_name(["model/quantizer=ste", "data=mnist"], "hcvq") == "hcvq quantizer=ste mnist"
    assert run_name(["logger=csv"], "vqvae_ema") == "vqvae_ema"
    assert run_name([], None) is None


def test_optimized_metric_is_a_float_and_an_unknown_one_is_one_line(capsys) -> None:
    assert optimized_value({"val/recon_mse": torch.tensor(0.25)}, "val/recon_mse") == 0.25
    assert optimized_value({}, None) is None
    with pytest.raises(SystemExit) as exit_info, one_line_errors():
        optimized_value({"train/loss": torch.tensor(1.0)}, "val/recon_mes", sweeping=True)
    assert exit_info.value.code == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("vqlab: error: optimized_metric=val/recon_mes was never logged")
    assert "train/loss" in line


def test_report_on_a_folder_that_is_not_a_multirun_is_one_line(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        report.main([str(tmp_path)])
    assert exit_info.value.code == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"vqlab: error: {tmp_path} is not a multirun directory")


def test_tokenize_of_a_run_dir_without_config_is_one_line(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["vqlab.tokenize", f"run_dir={tmp_path}"])
    with pytest.raises(SystemExit) as exit_info:
        tokenize.main()
    assert exit_info.value.code == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        f"vqlab: error: {tmp_path} is not a vqlab run directory: it has no .hydra/config.yaml; "
        "pass the directory a training run wrote (logs/train/runs/<time> or <multirun>/<job "
        "number>)"
    )


@pytest.fixture
def saved_run(train_config, tmp_path: Path) -> Path:
    """A run directory with the composed config of a tiny VQ-VAE and its weights as last.ckpt."""
    cfg = train_config(["model.quantizer.codebook_size=16"])
    run_dir = tmp_path / "saved"
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / "checkpoints").mkdir()
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    torch.manual_seed(1)
    model = instantiate(cfg.model)
    torch.save({"state_dict": model.state_dict()}, run_dir / "checkpoints" / "last.ckpt")
    return run_dir


def test_load_run_rebuilds_the_modules_from_the_run_config(saved_run: Path) -> None:
    checkpoint = saved_run / "checkpoints" / "last.ckpt"
    model = load_run(saved_run, checkpoint)
    saved = torch.load(checkpoint)["state_dict"]
    assert not model.training
    for name, value in model.state_dict().items():
        assert torch.equal(value, saved[name]), name

    x = torch.rand(3, 1, 8, 8) * 2 - 1
    indices = model.encode(x)
    assert indices.shape == (3, 4, 4) and indices.dtype == torch.int64
    torch.testing.assert_close(model.decode(indices), model(x)[0])


def test_checkpoint_that_does_not_fit_the_config_is_named(saved_run: Path, train_config) -> None:
    other = instantiate(train_config(["model.quantizer.codebook_size=32"]).model)
    torch.save({"state_dict": other.state_dict()}, saved_run / "checkpoints" / "last.ckpt")
    with pytest.raises(CheckpointMismatchError, match=r"last\.ckpt does not match") as error:
        load_run(saved_run, checkpoint="last")
    assert "\n" not in str(error.value)
    with pytest.raises(FileNotFoundError, match="no best checkpoint"):
        load_run(saved_run, checkpoint="best")


@pytest.mark.slow
def test_two_process_ddp_run_logs_images_and_wandb_from_rank_zero_only(ddp_cli_run) -> None:
    result, run_dir = ddp_cli_run
    assert result.returncode == 0, result.stderr[-3000:]
    (wandb_file,) = run_dir.glob("wandb/offline-run-*/run-*.wandb")  # one W&B run, not two
    (media,) = run_dir.glob("wandb/offline-run-*/files/media/images")
    assert len(list(media.glob("val/reconstructions_*.png"))) == 1
    assert len(list(media.glob("codebook/usage_histogram_*.png"))) == 1
    assert read_records(wandb_file)
    (usage,) = run_dir.glob("codebook_usage/epoch_000_step_*.png")
    pixels = np.asarray(Image.open(usage))
    assert pixels.max() == 255


def test_tokenize_arguments_name_the_unknown_key_and_the_split() -> None:
    assert tokenize.parse_arguments(["run_dir=r", "data.root=/d", "split=val"]) == (
        {"run_dir": "r", "split": "val"},
        ["data.root=/d"],
    )
    with pytest.raises(UnknownConfigKeyError, match="unknown argument 'splt=val'"):
        tokenize.parse_arguments(["run_dir=r", "splt=val"])
    with pytest.raises(ValueError, match="split must be one of train, val, test, got 'dev'"):
        tokenize.parse_arguments(["run_dir=r", "split=dev"])
    with pytest.raises(ConfigError, match="run_dir is required"):
        tokenize.parse_arguments(["split=val"])


def test_a_file_that_is_not_a_wandb_run_is_a_one_line_error(tmp_path) -> None:
    (tmp_path / "run-x.wandb").write_bytes(b"not a run")
    with pytest.raises(RunDirectoryError, match="is not a W&B run file"):
        read_records(tmp_path / "run-x.wandb")
