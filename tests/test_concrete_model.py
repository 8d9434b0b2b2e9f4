"""Concrete autoencoder: losses, logged metrics, configs and the command line."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from in_process import run_cli_in_process

from tests.conftest import compose_train_config
from vqlab.callbacks import SelectedPixelsGrid, StopOnConvergence
from vqlab.config.resolvers import numel, register_resolvers
from vqlab.models import ConcreteAutoencoder
from vqlab.nets import MLPDecoder
from vqlab.quantizers import ConcreteSelector

register_resolvers()


def make_cae(gjs_weight: float, num_features: int = 64, k: int = 4) -> ConcreteAutoencoder:
    return ConcreteAutoencoder(
        ConcreteSelector(num_features=num_features, num_selected=k),
        MLPDecoder(
            output_shape=[1, 8, 8],
            hidden_features=[6],
            latent_dim=k,
            activation="leaky_relu",
            dropout=0.1,
        ),
        optimizer=partial(torch.optim.Adam, lr=1e-3),
        gjs_weight=gjs_weight,
    )


def test_loss_is_mse_minus_weighted_gjs() -> None:
    model = make_cae(gjs_weight=0.3)
    with torch.no_grad():
        model.selector.logits.normal_()
    x = torch.randn(5, 1, 8, 8)
    x_hat = model(x)[0]
    terms = model.losses(x, x_hat)
    expected = F.mse_loss(x_hat, x) - 0.3 * model.selector.gjs_divergence()
    assert torch.allclose(terms["loss"], expected)
    assert torch.allclose(terms["recon_mse"], F.mse_loss(x_hat, x))


def test_forward_keeps_the_image_shape_and_selects_k_features() -> None:
    model = make_cae(gjs_weight=0.0).eval()
    x = torch.randn(3, 1, 8, 8)
    x_hat, z = model(x)
    assert x_hat.shape == x.shape
    assert torch.equal(z, x.flatten(1)[:, model.selector.selected_features()])


def test_selection_statistics_count_distinct_features() -> None:
    model = make_cae(gjs_weight=0.0, k=4)
    with torch.no_grad():
        model.selector.logits.zero_()
        model.selector.logits[torch.arange(4), torch.tensor([5, 5, 7, 9])] = 100.0
    stats = model.selection_statistics()
    assert stats["cae/unique_features"].item() == 3
    assert stats["cae/unique_fraction"].item() == pytest.approx(0.75)
    assert stats["cae/mean_max_prob"].item() == pytest.approx(1.0)
    assert stats["temperature"].item() == pytest.approx(10.0)


def test_numel_resolver() -> None:
    assert numel([1, 8, 8]) == 64
    assert numel(["64"]) == 64


@pytest.mark.parametrize("data", ["digits", "lowrank"])
def test_config_instantiates_and_runs_forward(tmp_path: Path, data: str) -> None:
    cfg = compose_train_config(["model=cae", f"data={data}", "debug=default"], tmp_path)
    model = instantiate(cfg.model)
    x = torch.randn(4, *cfg.input_shape)
    loss = model.losses(x, model(x)[0])["loss"]
    assert torch.isfinite(loss)
    assert model.selector.num_features == 64


def test_experiment_configs_compose(tmp_path: Path) -> None:
    cfg = compose_train_config(["experiment=cae_digits", "debug=default"], tmp_path)
    callbacks = [instantiate(node) for node in cfg.callbacks.values()]
    assert {type(callback).__name__ for callback in callbacks} >= {
        "TemperatureAnnealing",
        "StopOnConvergence",
        "SelectedPixelsGrid",
    }
    model = instantiate(cfg.model)
    assert model.selector.num_selected == 16


def test_training_logs_the_cae_metrics_and_the_pixel_mask(tmp_path: Path) -> None:
    cfg = compose_train_config(["experiment=cae_digits", "debug=default"], tmp_path)
    model, datamodule = instantiate(cfg.model), instantiate(cfg.data)
    callbacks = [instantiate(node) for node in cfg.callbacks.values()]
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=False, enable_progress_bar=False)
    trainer.fit(model, datamodule=datamodule)
    logged = set(trainer.callback_metrics)
    assert logged >= {
        "train/loss",
        "train/recon_mse",
        "val/loss",
        "val/recon_mse",
        "cae/gjs",
        "cae/mean_max_prob",
        "cae/unique_features",
        "cae/unique_fraction",
        "temperature",
    }
    assert list((Path(cfg.paths.output_dir) / SelectedPixelsGrid.name).glob("epoch_000_step_*.png"))


def test_convergence_stops_training_once_selectors_are_sharp(tmp_path: Path) -> None:
    model = make_cae(gjs_weight=0.0)
    with torch.no_grad():
        model.selector.logits[:, 0] = 100.0
    stop = StopOnConvergence(threshold=0.99)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.randn(8, 1, 8, 8)), batch_size=4
    )
    trainer = L.Trainer(
        max_epochs=5,
        logger=False,
        callbacks=[stop],
        default_root_dir=tmp_path,
        enable_progress_bar=False,
        enable_checkpointing=False,
        accelerator="cpu",
    )
    trainer.fit(model, loader)
    assert stop.converged_epoch == 0
    assert trainer.current_epoch == 1


@pytest.mark.slow
@pytest.mark.parametrize("data", ["digits", "lowrank"])
def test_cli_fast_dev_run(tmp_path: Path, data: str) -> None:
    result = run_cli_in_process(
        [
            "model=cae",
            "callbacks=cae",
            f"data={data}",
            "debug=default",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow
def test_cli_non_positive_temperature_is_one_line(tmp_path: Path) -> None:
    result = run_cli_in_process(
        [
            "model=cae",
            "debug=default",
            "model.selector.temperature=0",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        tmp_path,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("vqlab: error: model.selector.temperature must be > 0")
    assert "Traceback" not in result.stderr
