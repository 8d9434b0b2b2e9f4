"""Every config composes; every model trains one step on every embedded dataset it accepts."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from conftest import CONF_DIR, compose_train_config
from hydra.errors import InstantiationException
from omegaconf import DictConfig, OmegaConf

from vqlab.cli.overrides import accepted_keys, annotation_of
from vqlab.errors import ConfigValueError
from vqlab.train import train

GROUPS = ["model", "data", "trainer", "callbacks", "logger", "debug", "experiment"]
OPTIONS = [
    (group, path.stem) for group in GROUPS for path in sorted((CONF_DIR / group).glob("*.yaml"))
]
MODELS = sorted(path.stem for path in (CONF_DIR / "model").glob("*.yaml"))
DATA = sorted(path.stem for path in (CONF_DIR / "data").glob("*.yaml"))
EMBEDDED_DATA = ["digits", "lowrank"]  # need no files on disk


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_config_option_composes_and_resolves(group: str, option: str, tmp_path) -> None:
    cfg = compose_train_config([f"{group}={option}"], tmp_path)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert resolved["seed"] == cfg.seed


def assert_keys_are_arguments(node: DictConfig) -> None:
    """Keys of ``node`` are keyword arguments of its target (no `params:` wrappers)."""
    accepted = accepted_keys(node._target_)
    assert accepted is not None, f"{node._target_} takes **kwargs that no constructor names"
    keys = {key for key in node if not key.startswith("_")}
    assert keys <= set(accepted), (node._target_, keys - set(accepted))


def test_group_keys_equal_constructor_arguments_of_their_targets(tmp_path) -> None:
    cfg = compose_train_config([], tmp_path)
    for node in (cfg.model, cfg.model.encoder, cfg.model.decoder, cfg.model.quantizer, cfg.data):
        assert_keys_are_arguments(node)


@pytest.mark.parametrize("data", DATA)
def test_every_data_node_holds_exactly_its_datamodule_arguments(data: str, tmp_path) -> None:
    """The image datasets' shared loader keys (``conf/data/loader/images.yaml``) land flat in the
    data node, where the datamodule takes them (it hands them on to ``ImageDataModule``)."""
    cfg = compose_train_config([f"data={data}", "data.batch_size=5"], tmp_path)
    assert_keys_are_arguments(cfg.data)
    assert cfg.data.batch_size == 5


def test_a_mistyped_loader_key_is_refused_with_its_annotation(tmp_path) -> None:
    cfg = compose_train_config(["data=mnist"], tmp_path)
    assert annotation_of(cfg, "data.batch_size") is int
    assert annotation_of(cfg, "data.image_size") == int | None
    assert "batchsize" not in accepted_keys(cfg.data._target_)


def is_convolutional(model: str, tmp_path: Path) -> bool:
    cfg = compose_train_config([f"model={model}"], tmp_path)
    return cfg.model.get("encoder", {}).get("_target_", "").endswith("ConvEncoder")


@pytest.mark.parametrize("data", EMBEDDED_DATA)
@pytest.mark.parametrize("model", MODELS)
def test_every_model_runs_a_fast_dev_run_on_embedded_data(model: str, data: str, tmp_path) -> None:
    cfg = compose_train_config([f"model={model}", f"data={data}", "debug=default"], tmp_path)
    if is_convolutional(model, tmp_path) and len(cfg.input_shape) != 3:
        with pytest.raises(InstantiationException) as error:
            train(cfg)
        assert isinstance(error.value.__cause__, ConfigValueError)
        assert error.value.__cause__.argument == "input_shape"
        return
    metrics = train(cfg)
    assert math.isfinite(float(metrics["train/loss"]))
    assert math.isfinite(float(metrics["test/loss"]))
