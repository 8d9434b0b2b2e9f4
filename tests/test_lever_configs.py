"""Every lever option composes with keys equal to constructor args, runs, and rejects bad input."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import CONF_DIR, compose_train_config
from hydra.utils import instantiate
from omegaconf import DictConfig

from vqlab.cli.one_line import one_line_errors
from vqlab.cli.overrides import accepted_keys
from vqlab.train import train

QUANTIZERS = sorted(path.stem for path in (CONF_DIR / "model" / "quantizer").glob("*.yaml"))
LEVERS = sorted(path.stem for path in (CONF_DIR / "lever").glob("*.yaml"))


def assert_keys_are_arguments(node: DictConfig) -> None:
    """Keys of ``node`` and of its nested ``_target_`` nodes are parameters of their targets."""
    accepted = set(accepted_keys(node._target_) or ())
    keys = {key for key in node if not key.startswith("_")}
    assert keys <= accepted, (node._target_, keys - accepted)
    for value in node.values():
        if isinstance(value, DictConfig) and "_target_" in value:
            assert_keys_are_arguments(value)


@pytest.mark.parametrize("quantizer", QUANTIZERS)
def test_every_quantizer_option_builds_a_model_whose_loss_is_finite(quantizer, tmp_path) -> None:
    cfg = compose_train_config([f"model/quantizer={quantizer}", "debug=default"], tmp_path)
    assert_keys_are_arguments(cfg.model.quantizer)
    model = instantiate(cfg.model)
    x = torch.rand(4, *cfg.input_shape) * 2 - 1
    x_hat, quantized = model(x)
    assert x_hat.shape == x.shape
    loss = model.losses(x, x_hat, quantized)["loss"]
    assert math.isfinite(float(loss))
    assert quantized.counts.shape == (model.quantizer.codebook_size,)
    assert quantized.counts.sum() == 4 * 4 * 4 * len(model.quantizer.codebook_sizes)  # 4x4 latents


@pytest.mark.parametrize("lever", LEVERS)
def test_every_ablation_row_composes_at_k512_d64(lever, tmp_path) -> None:
    cfg = compose_train_config(["experiment=collapse_ablation", f"lever={lever}"], tmp_path)
    model = instantiate(cfg.model)
    assert set(model.quantizer.codebook_sizes) == {512}
    assert cfg.model.encoder.latent_dim == 64


def test_grouped_run_logs_usage_per_codebook_and_growth_runs_in_lightning(tmp_path) -> None:
    grouped = compose_train_config(["model/quantizer=grouped", "debug=default"], tmp_path / "g")
    metrics = train(grouped)
    usage = [float(metrics[f"test/group_{group}/usage"]) for group in range(2)]
    torch.testing.assert_close(float(metrics["test/usage"]), sum(usage) / 2)
    overrides = ["model/quantizer=growth", "callbacks=growth", "callbacks.growth.steps=[0,0]"]
    growth = compose_train_config([*overrides, "debug=default"], tmp_path / "r")
    assert math.isfinite(float(train(growth)["test/recon_mse"]))


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (
            ["model/quantizer=lowdim", "model.quantizer.codebook_dim=0"],
            "model.quantizer.codebook_dim",
        ),
        (["model/quantizer=grouped", "model.quantizer.num_groups=3"], "model.quantizer.num_groups"),
        (
            ["model/quantizer=residual", "model.quantizer.num_stages=0"],
            "model.quantizer.num_stages",
        ),
        (["model/quantizer=entropy", "model.quantizer.tau=0"], "model.quantizer.tau"),
        (["callbacks=growth", "callbacks.growth.sizes=[64,32]"], "sizes"),
        (["model/quantizer=fsq", "model.quantizer.levels=[8,1]"], "model.quantizer.levels"),
        (["model/quantizer=fsq", "model.quantizer.levels=[]"], "model.quantizer.levels"),
        (["model/quantizer=lfq", "model.quantizer.codebook_size=500"], "codebook_size"),
        (["model/quantizer=fsq", "model.encoder.latent_dim=2"], "model.quantizer.dim"),
        (
            [
                "model/quantizer=curriculum",
                "callbacks=curriculum",
                "callbacks.dimension_curriculum.steps=[9,9]",
            ],
            "steps",
        ),
    ],
)
def test_bad_lever_input_is_one_line_naming_the_key(overrides, key, tmp_path, capsys) -> None:
    cfg = compose_train_config([*overrides, "debug=default"], tmp_path)
    with pytest.raises(SystemExit) as exit_info, one_line_errors():
        instantiate(cfg.model)
        for node in cfg.callbacks.values():
            instantiate(node)
    assert exit_info.value.code == 1
    message = capsys.readouterr().err.strip()
    assert message.startswith("vqlab: error: ") and "\n" not in message
    assert key in message, message


def test_an_implied_codebook_logs_usage_over_its_codes(tmp_path) -> None:
    cfg = compose_train_config(
        ["model/quantizer=fsq", "model.quantizer.levels=[4,4]", "debug=default"], tmp_path
    )
    metrics = train(cfg)
    usage, perplexity = float(metrics["test/usage"]), float(metrics["test/perplexity"])
    assert 0 < usage <= 1 and 1 <= perplexity <= 16  # over the 16 implied codes
