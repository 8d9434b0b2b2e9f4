"""Every config composes; every model trains one step on every embedded dataset it accepts."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from conftest import CONF_DIR, compose_train_config
from hydra.errors import InstantiationException
from omegaconf import OmegaConf

from vqlab.errors import ConfigValueError
from vqlab.train import train

GROUPS = ["model", "data", "trainer", "callbacks", "logger", "debug", "experiment"]
OPTIONS = [
    (group, path.stem) for group in GROUPS for path in sorted((CONF_DIR / group).glob("*.yaml"))
]
MODELS = sorted(path.stem for path in (CONF_DIR / "model").glob("*.yaml"))
EMBEDDED_DATA = ["digits", "lowrank"]  # need no files on disk


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_config_option_composes_and_resolves(group: str, option: str, tmp_path) -> None:
    cfg = compose_train_config([f"{group}={option}"], tmp_path)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert resolved["seed"] == cfg.seed


def test_group_keys_equal_constructor_arguments_of_their_targets(tmp_path) -> None:
    """Keys of every instantiable node are parameters of its target (no `params:` wrappers)."""
    import inspect

    from hydra.utils import get_method

    cfg = compose_train_config([], tmp_path)
    for node in (cfg.model, cfg.model.encoder, cfg.model.decoder, cfg.model.quantizer, cfg.data):
        parameters = inspect.signature(get_method(node._target_)).parameters
        keys = {key for key in node if not key.startswith("_")}
        assert keys <= parameters.keys(), (node._target_, keys - parameters.keys())


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
    assert math.isfinite(float(metrics["test/recon_mse"]))
