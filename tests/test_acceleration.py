"""The opt-in speed options: ``compile`` and ``channels_last`` (``vqlab.models.acceleration``)."""

from __future__ import annotations

import math

import torch
from conftest import compose_train_config
from hydra.utils import instantiate

from vqlab.models.acceleration import accelerate
from vqlab.train import train


def default_model(tmp_path, overrides=()):
    torch.manual_seed(0)
    return instantiate(compose_train_config(list(overrides), tmp_path).model).eval()


def test_both_options_are_off_by_default_and_compose_with_the_gpu_trainer(tmp_path) -> None:
    cfg = compose_train_config([], tmp_path)
    assert cfg.compile is False and cfg.channels_last is False
    cfg = compose_train_config(["trainer=gpu", "compile=true", "channels_last=true"], tmp_path)
    assert cfg.compile is True and cfg.channels_last is True
    assert cfg.trainer.accelerator == "gpu" and cfg.trainer.precision == "bf16-mixed"


def test_channels_last_puts_conv_weights_and_inputs_in_nhwc_and_keeps_the_values(
    tmp_path,
) -> None:
    model = default_model(tmp_path, ["input_shape=[3,8,8]"])  # 3 channels: NHWC != NCHW
    x = torch.rand(4, 3, 8, 8) * 2 - 1
    with torch.no_grad():
        expected = model(x)[0]
        accelerate(model, channels_last=True)
        seen = []
        model.encoder.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
        got = model(x)[0]
    weights = [p for p in model.parameters() if p.dim() == 4]
    assert weights and all(p.is_contiguous(memory_format=torch.channels_last) for p in weights)
    assert seen[0].is_contiguous(memory_format=torch.channels_last)
    assert not seen[0].is_contiguous()
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_channels_last_leaves_a_model_without_conv_weights_alone(tmp_path) -> None:
    torch.manual_seed(0)
    cfg = compose_train_config(["model=vqvae_mlp", "data=lowrank"], tmp_path)
    model = instantiate(cfg.model)
    hooks = len(model._forward_pre_hooks)
    accelerate(model, channels_last=True)
    assert len(model._forward_pre_hooks) == hooks


def test_compile_keeps_the_state_dict_keys_so_checkpoints_load_both_ways(tmp_path) -> None:
    eager = default_model(tmp_path)
    compiled = default_model(tmp_path)
    accelerate(compiled, compile=True)  # lazy: nothing is compiled before the first call
    assert compiled.encoder._compiled_call_impl is not None
    assert compiled.decoder._compiled_call_impl is not None
    assert list(compiled.state_dict()) == list(eager.state_dict())
    assert not any("_orig_mod" in key for key in compiled.state_dict())
    compiled.load_state_dict(eager.state_dict())
    eager.load_state_dict(compiled.state_dict())


def test_a_one_step_cpu_run_with_channels_last_trains_and_tests(tmp_path) -> None:
    cfg = compose_train_config(["debug=default", "channels_last=true"], tmp_path)
    metrics = train(cfg)
    assert math.isfinite(float(metrics["train/loss"]))
    assert math.isfinite(float(metrics["test/loss"]))


def test_a_compiled_run_trains_and_its_checkpoint_loads_into_an_eager_model(tmp_path) -> None:
    cfg = compose_train_config(
        ["compile=true", "trainer.max_steps=2", "trainer.limit_val_batches=1", "logger=none"],
        tmp_path,
    )
    cfg.test = False
    metrics = train(cfg)
    assert math.isfinite(float(metrics["train/loss"]))
    checkpoint = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    default_model(tmp_path).load_state_dict(checkpoint["state_dict"])
