"""Bad command lines are refused before anything is built, with one line naming the key and fix;
anticipated errors are one line, bugs keep their traceback."""

from __future__ import annotations

import pytest
import torch
from conftest import CONF_DIR
from torch.utils.data import Dataset, Subset, TensorDataset

from vqlab.cli.one_line import check_group_options, describe, one_line_errors
from vqlab.cli.preflight import preflight
from vqlab.data.image_datamodule import ImageDataModule
from vqlab.data.image_folder import ImageFolderDataModule
from vqlab.errors import (
    ConfigError,
    ConfigValueError,
    DatasetNotFoundError,
    DeviceNotFoundError,
    EmptySplitError,
    UnknownConfigKeyError,
    UnknownConfigOptionError,
)
from vqlab.nets.conv import check_image_shape


@pytest.mark.parametrize(
    ("arguments", "error", "fragments"),
    [
        (
            ["model.quantizer.codebok_size=64"],
            UnknownConfigKeyError,
            ("'model.quantizer.codebok_size'", "did you mean `model.quantizer.codebook_size`?"),
        ),
        (["modle=hcvq"], UnknownConfigKeyError, ("'modle'", "did you mean `model`?")),
        (["+modle=hcvq"], UnknownConfigKeyError, ("nothing reads", "did you mean `model`?")),
        (["+model.foo=1"], UnknownConfigKeyError, ("VQVAE takes no argument 'foo'",)),
        (["+callbacks.mine.x=1"], UnknownConfigKeyError, ("without a _target_",)),
        (
            [
                "+callbacks.lr._target_=lightning.pytorch.callbacks.LearningRateMonitor",
                "+callbacks.lr.logging_intervl=step",
            ],
            UnknownConfigKeyError,
            ("did you mean `logging_interval`?",),
        ),
        (["+trainer.max_steps=20"], UnknownConfigKeyError, ("exists already", "max_steps=")),
        (["trainer.max_epochs=abc"], ConfigValueError, ("max_epochs must be of type int",)),
        (["data=image_folder"], ConfigError, ("data.path is required",)),
        (["model.optimizer.lr=-0.001"], ConfigValueError, ("model.optimizer.lr must be >= 0",)),
    ],
)
def test_bad_overrides_are_refused_before_the_run_starts(arguments, error, fragments) -> None:
    with pytest.raises(error) as raised:
        preflight(arguments, CONF_DIR)
    for fragment in fragments:
        assert fragment in str(raised.value)


@pytest.mark.parametrize(
    "arguments",
    [
        ["trainer.max_steps=20", "trainer.val_check_interval=0.5", "trainer.gradient_clip_val=1"],
        [
            "trainer.accumulate_grad_batches=2",
            "trainer.precision=bf16-mixed",
            "trainer.devices=auto",
        ],
        ["+callbacks.lr._target_=lightning.pytorch.callbacks.LearningRateMonitor"],
        [
            "+callbacks.lr._target_=lightning.pytorch.callbacks.LearningRateMonitor",
            "+callbacks.lr.logging_interval=step",
        ],
        ["-m", "+trainer.benchmark=true", "model=vqvae_ema,vqvae_ste", "seed=1,2"],
        ["experiment=hcvq_celeba", "trainer.max_steps=20"],
        ["model/quantizer=ste", "model.quantizer.codebook_size=64"],
    ],
)
def test_valid_overrides_pass_the_checks(arguments) -> None:
    assert preflight(arguments, CONF_DIR) is not None


def test_a_gpu_trainer_without_a_gpu_says_use_trainer_cpu(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceNotFoundError, match=r"no GPU found.*use trainer=cpu"):
        preflight(["trainer=gpu"], CONF_DIR)


def test_a_codebook_too_large_for_the_device_is_warned_about(capsys) -> None:
    preflight(["model.quantizer.codebook_size=20000000"], CONF_DIR)
    warning = capsys.readouterr().err
    assert "vqlab: warning: model.quantizer.codebook_size=20000000" in warning
    preflight(["model.quantizer.codebook_size=512"], CONF_DIR)
    assert "warning" not in capsys.readouterr().err


def test_a_mistyped_group_option_names_the_closest_option() -> None:
    with pytest.raises(UnknownConfigOptionError, match=r"did you mean model=vqvae_ste\?"):
        check_group_options(["model=vqvae_stee"], CONF_DIR)


def test_vqlab_errors_become_one_line_and_exit_status_1(capsys, monkeypatch) -> None:
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    monkeypatch.delenv("VQLAB_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exit_, one_line_errors():
        raise EmptySplitError("the val split holds no image")
    assert exit_.value.code == 1
    assert capsys.readouterr().err == "vqlab: error: the val split holds no image\n"


def test_other_errors_keep_their_traceback(monkeypatch) -> None:
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    with pytest.raises(ValueError, match="not enough values"), one_line_errors():
        raise ValueError("not enough values to unpack (expected 2, got 0)")


@pytest.mark.parametrize("variable", ["HYDRA_FULL_ERROR", "VQLAB_DEBUG"])
def test_debug_variables_show_the_traceback_of_vqlab_errors_too(monkeypatch, variable) -> None:
    monkeypatch.setenv(variable, "1")
    with pytest.raises(ConfigError), one_line_errors():
        raise ConfigError("a user error")


class EmptyValidation(ImageDataModule):
    """Two training images and no validation image, like a partition file with train rows only."""

    input_shape = (1, 8, 8)

    def build_splits(self) -> dict[str, Dataset]:
        images = TensorDataset(torch.zeros(2, 1, 8, 8, dtype=torch.uint8), torch.zeros(2))
        return {"train": images, "val": Subset(images, []), "test": images}


def test_an_empty_split_is_named_in_a_one_line_error() -> None:
    with pytest.raises(EmptySplitError, match="the val split of EmptyValidation holds no image"):
        EmptyValidation(in_memory="true").setup("fit")


def test_a_missing_image_folder_names_the_data_path_key(tmp_path) -> None:
    with pytest.raises(DatasetNotFoundError) as raised:
        ImageFolderDataModule(path=str(tmp_path / "nowhere"))
    assert "data.path=<folder>" in str(raised.value) and "data.root" not in str(raised.value)


def test_vectors_into_a_conv_model_get_a_readable_fix() -> None:
    with pytest.raises(ConfigValueError) as raised:
        check_image_shape([64], num_downsamplings=1)
    line = describe(raised.value)
    assert line.endswith(": vectors need MLP nets: model=vqvae_mlp")
    assert "<value" not in line
