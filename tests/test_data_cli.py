"""Every image model trains one step on every image dataset from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_datasets import (
    write_celeba,
    write_cifar10,
    write_fashion_mnist,
    write_image_folder,
    write_mnist,
)
from in_process import run_cli_in_process

IMAGE_MODELS = "vqvae_ema,vqvae_ste,vqvae_mlp"


def multirun(tmp_path: Path, *overrides: str) -> None:
    """``python -m vqlab.train -m model=<every image model> debug=default OVERRIDES``; all pass."""
    result = run_cli_in_process(
        [
            "-m",
            f"model={IMAGE_MODELS}",
            "debug=default",
            "callbacks=none",
            f"paths.root_dir={tmp_path}",
            f"hydra.sweep.dir={tmp_path / 'multirun'}",
            *overrides,
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = [path for path in (tmp_path / "multirun").iterdir() if path.is_dir()]
    expected = len(IMAGE_MODELS.split(",")) * len(overrides[0].split(","))
    assert len(jobs) == expected
    assert result.stdout.count("test/recon_mse") == expected


@pytest.mark.slow
def test_fast_dev_run_of_every_image_model_on_every_torchvision_and_celeba_set(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    write_mnist(data, num_train=20, num_test=4)
    write_fashion_mnist(data, num_train=20, num_test=4)
    write_cifar10(data, per_batch=4, num_test=4)
    write_celeba(data, layout="kaggle", counts=(4, 2, 2))
    multirun(tmp_path, "data=mnist,fashion_mnist,cifar10,celeba", f"paths.data_dir={data}")


@pytest.mark.slow
def test_fast_dev_run_of_every_image_model_on_an_image_folder(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "images", num=10, size=(40, 40))
    multirun(
        tmp_path, "data=image_folder", f"data.path={tmp_path / 'images'}", "data.image_size=32"
    )


def test_missing_dataset_is_one_line_and_exit_one_with_nothing_written(tmp_path: Path) -> None:
    result = run_cli_in_process(
        ["data=celeba", "debug=default", f"paths.data_dir={tmp_path / 'nothing'}"], tmp_path
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("vqlab: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert "CelebA not found" in errors[0] and "data.download=true" in errors[0]
    assert str(tmp_path / "nothing" / "list_eval_partition.csv") in errors[0]
    assert not (tmp_path / "nothing").exists()
    assert not list(tmp_path.rglob("checkpoints"))
