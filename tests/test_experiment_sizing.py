"""The real-image settings of experiments/collapse_ablation.py and experiments/vqvae2_vs_vqvae.py
build the grids and code counts their tables state (photos: 32x32 patches; MNIST: 28x28)."""

from __future__ import annotations

import argparse
import math

import torch
from conftest import compose_train_config
from hydra.utils import instantiate

from experiments.collapse_ablation import sizing
from experiments.vqvae2_vs_vqvae import photo_models


def ablation_args(data: str) -> argparse.Namespace:
    return argparse.Namespace(
        data=data,
        data_root=None,
        hidden_channels=[32, 64],
        residual_channels=32,
        residual_blocks=1,
        max_steps=400,
        val_every=100,
        limit_val_batches=10,
        limit_test_batches=40,
        lr=None,
        lr_schedule="constant",
        overrides=[],
    )


def test_ablation_on_mnist_is_a_7x7_grid_of_64_dim_codes_from_512(tmp_path) -> None:
    overrides = ["experiment=collapse_ablation", "lever=ste", *sizing(ablation_args("mnist"))]
    cfg = compose_train_config(overrides, tmp_path)
    assert cfg.data._target_.endswith("MNISTDataModule")
    assert (cfg.trainer.max_steps, cfg.trainer.max_epochs) == (400, -1)
    model = instantiate(cfg.model)
    _, quantized = model(torch.rand(2, *cfg.input_shape) * 2 - 1)
    assert quantized.counts.shape == (512,)
    assert int(quantized.counts.sum()) == 2 * 7 * 7
    assert model.quantizer.codebook.shape == (512, 64)


def test_digits_ablation_is_unchanged() -> None:
    assert sizing(ablation_args("digits")) == []


def test_cosine_schedule_and_extra_overrides_reach_the_model(tmp_path) -> None:
    args = ablation_args("mnist")
    args.lr_schedule, args.overrides = "cosine", ["model.decoder.output_activation=identity"]
    overrides = ["experiment=collapse_ablation", "lever=ste", *sizing(args)]
    cfg = compose_train_config(overrides, tmp_path)
    model = instantiate(cfg.model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1.0)
    scheduler = instantiate(cfg.model.scheduler)(optimizer)
    assert scheduler.T_max == 400 and cfg.model.scheduler_interval == "step"
    assert isinstance(model.decoder.net[-1], torch.nn.Identity)


def test_photo_models_spend_the_same_code_bits(tmp_path) -> None:
    bits = []
    for overrides in photo_models(512, 16, 256).values():
        cfg = compose_train_config(["data=photos", *overrides], tmp_path)
        model = instantiate(cfg.model)
        x = torch.rand(2, 3, 32, 32) * 2 - 1
        x_hat, quantized = model(x)
        assert x_hat.shape == x.shape
        levels = [quantized.top, quantized.bottom] if hasattr(quantized, "top") else [quantized]
        counts = [level.counts for level in levels]
        # bits per image: codes on the grid x log2(codebook size), over the levels
        bits.append(sum(int(c.sum()) // 2 * math.log2(c.numel()) for c in counts))
    assert bits == [64 * 9, 16 * 4 + 64 * 8] == [576, 576]
