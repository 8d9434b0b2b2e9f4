"""Every option in the README's tables runs alone, with its own recipe: a model or quantizer option
selects its callbacks (model=hcvq trains as the HC-VQ reference, without k-means init or respawn),
and callbacks=... on the command line still wins."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO_ROOT, compose_train_config
from fake_datasets import write_image_folder
from hydra import compose, initialize_config_dir

from vqlab.errors import VqlabError
from vqlab.train import train

GROUPS = ("model/quantizer", "model", "callbacks", "data")
NEEDS_DOWNLOAD = {"mnist", "fashion_mnist", "cifar10", "celeba"}
# callbacks recipes made for one model: alone (on the default VQ-VAE) they refuse in one line
MODEL_OF_RECIPE = {
    "temperature": "model=cae",
    "cae": "model=cae",
    "homology": "model=hcvq",
    "learnable_vq": "model=learnable_vq",
    "learnable_vq_random": "model=learnable_vq_random",
    "growth": "model/quantizer=growth",
    "curriculum": "model/quantizer=curriculum",
    "linear_vq": "model=linear_vq",
}
RECIPES = {  # the callbacks each option brings
    "model=vqvae_ema": "default",
    "model=hcvq": "homology",
    "model=cae": "cae",
    "model=learnable_vq": "learnable_vq",
    "model=learnable_vq_random": "learnable_vq_random",
    "model=linear_vq": "linear_vq",
    "model/quantizer=growth": "growth",
    "model/quantizer=curriculum": "curriculum",
    "model/quantizer=ste": "default",
}
FAST = ["debug=default", "test=false"]
# the random start's assignment search, shrunk for a smoke run (one restart, one move)
SMALL_SEARCH = [f"callbacks.assignment_init.{key}" for key in ("steps=20", "move_steps=10")]
SMALL_SEARCH += ["callbacks.assignment_init.restarts=1", "callbacks.assignment_init.moves=1"]


def readme_options() -> list[str]:
    """``group=option`` for every option named in the first column of the README's tables."""
    options = []
    for row in re.findall(r"^\| (.*?) \|", (REPO_ROOT / "README.md").read_text(), re.MULTILINE):
        for group, values in re.findall(r"`(model/quantizer|model|callbacks|data)=([\w\\|]+)", row):
            options += [f"{group}={value}" for value in values.split("\\|")]
    return sorted(set(options))


OPTIONS = [o for o in readme_options() if o.partition("=")[2] not in NEEDS_DOWNLOAD]


def test_the_readme_tables_name_every_kind_of_option() -> None:
    for group in GROUPS:
        assert any(option.startswith(f"{group}=") for option in OPTIONS), group
    assert {"model=hcvq", "model/quantizer=growth", "callbacks=cae", "data=digits"} <= set(OPTIONS)


@pytest.mark.parametrize(("option", "recipe"), RECIPES.items())
def test_an_option_brings_its_recipe_and_the_command_line_wins(option, recipe) -> None:
    with initialize_config_dir(str(REPO_ROOT / "conf"), version_base="1.3"):
        chosen = compose("train", [option], return_hydra_config=True).hydra.runtime.choices
        assert chosen["callbacks"] == recipe
        plain = compose("train", [option, "callbacks=plain"], return_hydra_config=True)
        assert plain.hydra.runtime.choices["callbacks"] == "plain"
    if option == "model=hcvq":  # as the reference: no k-means init, no respawn
        cfg = compose_train_config([option], Path("/unused"))
        assert "kmeans_init" not in cfg.callbacks and "respawn" not in cfg.callbacks


def data_files(option: str, tmp_path: Path) -> list[str]:
    """The ``data.path`` of a dataset option that reads the user's files (a tiny fake one)."""
    if option == "data=image_folder":
        write_image_folder(tmp_path / "images", num=12, size=(12, 12))
        return [f"data.path={tmp_path / 'images'}", "data.image_size=8", "data.batch_size=4"]
    if option == "data=tabular":
        np.save(tmp_path / "table.npy", np.random.default_rng(0).normal(size=(40, 6)))
        return [f"data.path={tmp_path / 'table.npy'}", "data.num_features=6", "model=vqvae_mlp"]
    return []


@pytest.mark.parametrize("option", OPTIONS)
def test_every_readme_option_runs_a_step_alone(option: str, tmp_path: Path) -> None:
    overrides = [option, *data_files(option, tmp_path), *FAST]
    if option in ("data=lowrank", "data=gaussian_subspace", "data=grouped_features"):
        overrides.append("model=vqvae_mlp")  # vectors: the conv default cannot take them
    recipe = option.partition("=")[2] if option.startswith("callbacks=") else None
    if recipe in MODEL_OF_RECIPE:
        # alone, a model's recipe refuses the default model in one line; with its model it runs
        with pytest.raises(VqlabError) as error:
            train(compose_train_config(overrides, tmp_path))
        assert "\n" not in str(error.value)
        overrides.append(MODEL_OF_RECIPE[recipe])
    metrics = train(compose_train_config(overrides, tmp_path))
    assert math.isfinite(float(metrics["train/loss"]))


@pytest.mark.parametrize("option", [*RECIPES, "model=vqvae2"])
def test_every_recipe_runs_a_one_epoch_smoke_run(option: str, tmp_path: Path) -> None:
    overrides = [option, "logger=none", "test=false", "trainer.max_epochs=1"]
    overrides += ["trainer.limit_train_batches=3", "trainer.limit_val_batches=1"]
    if option == "model=learnable_vq_random":
        overrides += SMALL_SEARCH
    cfg = compose_train_config(overrides, tmp_path)
    metrics = train(cfg)
    assert math.isfinite(float(metrics["train/loss"]))
    if option == "model=cae":  # one epoch anneals per step: the last step at the end temperature
        assert float(metrics["temperature"]) == pytest.approx(cfg.callbacks.temperature.temp_min)
