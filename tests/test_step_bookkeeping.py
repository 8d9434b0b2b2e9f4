"""The training-step bookkeeping every model shares (``vqlab.models.logged_module``): the usage
window under gradient accumulation, its DDP save / resume rule, and the per-codebook metric names,
checked for every model config."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import lightning as L
import pytest
import torch
import torch.distributed as dist
from conftest import compose_train_config
from ddp_group import WORLD_SIZE, DDPResults
from hydra.utils import instantiate
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from vqlab.config.resolvers import register_resolvers
from vqlab.metrics.image_quality import image_quality
from vqlab.models import VQVAE
from vqlab.models.logged_module import LoggedModule
from vqlab.quantizers import EMAQuantizer, GroupedQuantizer, ResidualQuantizer, STEQuantizer

MODELS = ["vqvae_ema", "vqvae_ste", "vqvae2", "hcvq", "learnable_vq", "linear_vq", "cae"]
BATCH, BATCHES, WINDOW = 4, 8, 2


def model_and_data(name: str, run_dir: Path) -> tuple[LoggedModule, L.LightningDataModule]:
    """``model=<name>`` on the embedded digits, a usage window of ``WINDOW`` optimizer steps."""
    overrides = [f"model={name}", "data=digits", f"data.batch_size={BATCH}"]
    if name != "cae":
        overrides.append(f"model.usage_window={WINDOW}")
    register_resolvers()
    cfg = compose_train_config(overrides, run_dir)
    torch.manual_seed(0)
    return instantiate(cfg.model), instantiate(cfg.data)


def logged_windows(model: LoggedModule, data: L.LightningDataModule, accumulate: int) -> list:
    """(global step, codes counted) of every training window the model logged in one epoch."""
    windows: list[tuple[int, float]] = []
    log_usage = model.log_usage

    def recording(stage: str) -> None:
        if stage == "train":
            windows.append((model.global_step, model.usage.train_window.histogram.sum().item()))
        log_usage(stage)

    model.log_usage = recording
    L.Trainer(
        max_epochs=1,
        limit_train_batches=BATCHES,
        limit_val_batches=0,
        accumulate_grad_batches=accumulate,
        logger=False,
        accelerator="cpu",
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    ).fit(model, datamodule=data)
    return windows


@pytest.mark.parametrize("name", MODELS)
def test_every_model_logs_one_usage_window_per_window_of_optimizer_steps(name, tmp_path) -> None:
    model, data = model_and_data(name, tmp_path)
    if model.usage is None:  # a model without a codebook has no window (the CAE)
        assert name == "cae"
        assert logged_windows(model, data, accumulate=2) == []
        return
    # manual optimisation (the linear lab) steps every batch: Lightning refuses accumulation
    accumulate = 1 if not model.automatic_optimization else 2
    windows = logged_windows(model, data, accumulate)
    steps_per_window = WINDOW * accumulate
    expected_steps = list(range(steps_per_window - 1, BATCHES, steps_per_window))
    assert [step for step, _ in windows] == [s // accumulate for s in expected_steps]
    codes = {count for _, count in windows}
    assert len(codes) == 1 and codes.pop() > 0  # every window holds the same number of batches
    per_batch = model.usage.train_window.histogram.new_zeros(())  # the window restarted
    assert model.usage.train_window.histogram.sum() == per_batch


def resume_worker(rank: int, directory: str) -> None:
    results = {}
    for name in MODELS:
        model, _ = model_and_data(name, Path(directory) / name)
        if model.usage is None:
            continue
        # rank r used codes 2r and 2r + 1: 4 codes over both ranks
        total = sum(model.codebook_sizes().values())
        model.usage.train_window.update(torch.eye(total)[2 * rank : 2 * rank + 2].sum(0))
        uninterrupted = model.usage.statistics("train")
        checkpoint = {"state_dict": model.state_dict()}
        model.on_save_checkpoint(checkpoint)  # a collective: every rank builds the checkpoint
        path = Path(directory) / f"{name}.ckpt"
        if rank == 0:
            torch.save(checkpoint, path)  # rank 0 writes it
        dist.barrier()
        resumed, _ = model_and_data(name, Path(directory) / name)
        loaded = torch.load(path, weights_only=False)
        resumed.on_load_checkpoint(loaded)
        resumed.load_state_dict(loaded["state_dict"])
        results[name] = {
            "total": total,
            "uninterrupted": uninterrupted["usage"],
            "resumed": resumed.usage.statistics("train")["usage"],
            "rng_ranks": len(loaded["rng_states"]),
        }
    torch.save(results, Path(directory) / f"result{rank}.pt")


DDP_WORKERS = [resume_worker]  # run in the suite's one process group (ddp_group.py)


@pytest.mark.slow
def test_every_model_resumes_its_ddp_usage_window_as_the_uninterrupted_run(
    ddp_results: DDPResults,
) -> None:
    folder = ddp_results.folder(resume_worker)
    results = [torch.load(folder / f"result{rank}.pt") for rank in range(WORLD_SIZE)]
    assert set(results[0]) == set(MODELS) - {"cae"}
    for result in results:
        for name, value in result.items():
            expected = 4 / value["total"]
            assert value["uninterrupted"].item() == pytest.approx(expected), name
            # was 2 / total (or 8 / total) when each rank loaded rank 0's histogram (or its own)
            assert value["resumed"].item() == pytest.approx(expected), name
            assert value["rng_ranks"] == WORLD_SIZE, name


def fitted_metrics(model: LoggedModule) -> dict[str, float]:
    data = DataLoader(TensorDataset(torch.randn(4 * BATCH, 4)), batch_size=BATCH)
    trainer = L.Trainer(
        max_epochs=1,
        logger=False,
        accelerator="cpu",
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, data, data)
    return {name: float(value) for name, value in trainer.callback_metrics.items()}


@pytest.mark.parametrize(
    ("quantizer", "names"),
    [
        (
            GroupedQuantizer(4, num_groups=2, quantizer=partial(EMAQuantizer, 4)),
            ["group_0", "group_1"],
        ),
        (
            ResidualQuantizer(4, num_stages=2, quantizer=partial(STEQuantizer, 4)),
            ["stage_0", "stage_1"],
        ),
    ],
    ids=["grouped", "residual"],
)
def test_each_codebook_of_a_composite_is_logged_under_its_own_name(quantizer, names) -> None:
    torch.manual_seed(0)
    model = VQVAE(nn.Linear(4, 4), quantizer, nn.Identity(), partial(torch.optim.SGD, lr=0.1))
    model.usage_window = 1
    metrics = fitted_metrics(model)
    for prefix in ("codebook", "val"):
        assert 0 < metrics[f"{prefix}/usage"] <= 1  # over all codes
        for name in names:
            for metric in ("usage", "perplexity", "dead_fraction", "entropy", "utilisation"):
                assert f"{prefix}/{name}/{metric}" in metrics
    assert not any(key.endswith(("_0", "_1")) for key in metrics)  # the old scheme is gone


def test_image_models_log_psnr_and_ssim_of_their_evaluation_reconstructions(tmp_path) -> None:
    model, data = model_and_data("vqvae_ste", tmp_path)
    trainer = L.Trainer(
        max_epochs=1,
        limit_train_batches=2,
        limit_val_batches=2,
        limit_test_batches=2,
        logger=False,
        accelerator="cpu",
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, datamodule=data)
    assert "val/psnr" in trainer.callback_metrics and "train/psnr" not in trainer.callback_metrics
    trainer.test(model, datamodule=data, verbose=False)
    metrics = trainer.callback_metrics
    assert model.value_range == tuple(data.value_range)  # read from the datamodule
    assert 0 < float(metrics["test/psnr"]) < 60 and -1 <= float(metrics["test/ssim"]) <= 1
    # the logged value is the mean over the split's images of torchmetrics' per-image values
    data.setup("test")
    images = torch.cat([data.on_after_batch_transfer(b, 0)[0] for b in data.test_dataloader()][:2])
    with torch.no_grad():
        expected = image_quality(model.eval()(images)[0], images, data.value_range)
    torch.testing.assert_close(metrics["test/psnr"], expected["psnr"], rtol=1e-4, atol=1e-4)
