"""The learnable-assignment VQ-VAE: freezing, optimizer groups, resume, configs, bad input."""

from __future__ import annotations

import copy
import math
from functools import partial
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from in_process import run_cli_in_process
from sklearn.metrics import adjusted_rand_score

from tests.conftest import compose_train_config
from vqlab.callbacks import ClusteringInit
from vqlab.cli.one_line import describe
from vqlab.data import GroupedFeaturesDataModule
from vqlab.models import LearnableVQVAE
from vqlab.nets import CategoryEncoders, MLPDecoder
from vqlab.quantizers import EMAQuantizer, SoftAssignment
from vqlab.train import train

D, K = 12, 3
ADAM = partial(torch.optim.Adam, lr=1e-2)


def make_model(
    freeze_after_epochs: int | None = None,
    assignment_lr: float = 1e-4,
    optimizer=ADAM,
    gradient_clip_val: float | None = 1.0,
):
    return LearnableVQVAE(
        SoftAssignment(D, K),
        CategoryEncoders(K, D, hidden_features=[8], latent_dim=2),
        partial(EMAQuantizer, codebook_size=8, dim=2),
        MLPDecoder([D], hidden_features=[8], latent_dim=2, num_latents=K),
        optimizer,
        assignment_lr=assignment_lr,
        gradient_clip_val=gradient_clip_val,
        freeze_after_epochs=freeze_after_epochs,
    )


def make_data() -> GroupedFeaturesDataModule:
    return GroupedFeaturesDataModule(
        num_features=D, num_groups=K, noise=0.1, num_samples=320, batch_size=32
    )


def make_trainer(tmp_path: Path, callbacks: list | None = None, **kwargs) -> L.Trainer:
    return L.Trainer(
        default_root_dir=tmp_path,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        callbacks=callbacks or [],
        **kwargs,
    )


def test_frozen_model_equals_the_eval_mode_soft_model() -> None:
    torch.manual_seed(0)
    model = make_model()
    with torch.no_grad():
        model.assignment.logits.normal_()
    x = torch.randn(7, D)
    model.eval()
    before = model(x)[0]
    model.freeze()
    assert torch.equal(model(x)[0], before)
    model.train()
    assert torch.equal(model.assignment(), model.assignment.eval()())
    assert not any(p.requires_grad for p in model.assignment.parameters())


def test_assignment_parameters_form_their_own_group_at_their_own_lr() -> None:
    model = make_model(assignment_lr=3e-4)
    optimizer = model.configure_optimizers()["optimizer"]
    rest, assignment = optimizer.param_groups
    assert rest["lr"] == 1e-2 and assignment["lr"] == 3e-4
    assert assignment["params"] == [model.assignment.logits]
    grouped = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert grouped == {id(p) for p in model.parameters()} and len(rest["params"]) + 1 == len(
        grouped
    )


class Capture(L.Callback):
    """Copies of the model's and the optimizer's state when training (re)starts."""

    def on_train_start(self, trainer: L.Trainer, pl_module: LearnableVQVAE) -> None:
        self.logits = pl_module.assignment.logits.detach().clone()
        self.temperature = float(pl_module.assignment.temperature)
        # Adam updates its moments in place: copy them before the next step
        self.optimizer = copy.deepcopy(trainer.optimizers[0].state_dict())


def test_resume_restores_logits_temperature_and_both_groups_optimizer_state(tmp_path) -> None:
    torch.manual_seed(0)
    model = make_model(assignment_lr=1e-2)
    model.assignment.temperature = 0.37
    trainer = make_trainer(tmp_path, max_steps=3)
    trainer.fit(model, datamodule=make_data())
    trainer.save_checkpoint(tmp_path / "step3.ckpt")
    saved = trainer.optimizers[0].state_dict()

    torch.manual_seed(1)
    resumed, capture = make_model(assignment_lr=1e-2), Capture()
    assert not torch.equal(resumed.assignment.logits, model.assignment.logits)
    make_trainer(tmp_path, [capture], max_steps=4).fit(
        resumed, datamodule=make_data(), ckpt_path=tmp_path / "step3.ckpt"
    )
    assert torch.equal(capture.logits, model.assignment.logits.detach())
    assert capture.temperature == pytest.approx(0.37)
    assert [g["lr"] for g in capture.optimizer["param_groups"]] == [1e-2, 1e-2]
    logits_index = capture.optimizer["param_groups"][1]["params"][0]
    for index in (0, logits_index):  # a model parameter and the assignment logits
        for name in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(capture.optimizer["state"][index][name], saved["state"][index][name])
    assert saved["state"][logits_index]["exp_avg"].abs().sum() > 0


def test_clustering_init_recovers_groups_and_freeze_at_zero_keeps_it(tmp_path) -> None:
    torch.manual_seed(0)
    model, data = make_model(freeze_after_epochs=0, assignment_lr=1e-1), make_data()
    trainer = make_trainer(tmp_path, [ClusteringInit(init_confidence=2.0)], max_epochs=1)
    trainer.fit(model, datamodule=data)
    labels = model.assignment.hard_assignment()
    assert adjusted_rand_score(data.groups.numpy(), labels.numpy()) == 1.0
    torch.testing.assert_close(
        model.assignment.logits, 2.0 * torch.nn.functional.one_hot(labels, K).float()
    )
    assert model.assignment.is_frozen and math.isfinite(
        float(trainer.callback_metrics["train/loss"])
    )


def test_experiment_config_and_tabular_data_run_a_fast_dev_run(tmp_path) -> None:
    table = np.random.default_rng(0).normal(size=(60, 5))
    np.savetxt(tmp_path / "t.csv", table, delimiter=",", header="a,b,c,d,e", comments="")
    for overrides in (
        ["experiment=learnable_vs_static"],
        [
            "model=learnable_vq",
            "data=tabular",
            f"data.path={tmp_path / 't.csv'}",
            "data.num_features=5",
            "model.assignment.num_categories=2",
            "callbacks=learnable_vq",
        ],
    ):
        cfg = compose_train_config([*overrides, "debug=default"], tmp_path)
        metrics = train(cfg)
        assert math.isfinite(float(metrics["train/loss"])), overrides
        assert math.isfinite(float(metrics["test/recon_mse"])), overrides


@pytest.mark.parametrize(
    ("write", "overrides", "message"),
    [
        (None, ["data.path=/no/such/table.csv"], "no file at data.path=/no/such/table.csv"),
        ("a,b\n1,x\n", ["data.num_features=2"], "column 'b' is not numeric (row 2: 'x')"),
        ("a,b\n1,2\n3,4\n", ["data.num_features=3"], "num_features must be 2 (the columns of"),
    ],
)
def test_bad_tables_are_one_line_errors(tmp_path, write, overrides, message) -> None:
    path = tmp_path / "t.csv"
    if write is not None:
        path.write_text(write)
    cfg = compose_train_config(
        ["model=learnable_vq", "data=tabular", f"data.path={path}", *overrides], tmp_path
    )
    with pytest.raises(InstantiationException) as error:
        instantiate(cfg.data)
    line = describe(error.value)
    assert message in line and "\n" not in line


def test_cli_reports_too_few_categories_as_one_line(tmp_path) -> None:
    result = run_cli_in_process(
        [
            "model=learnable_vq",
            "data=grouped_features",
            "model.assignment.num_categories=1",
            "debug=default",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "vqlab: error: model.assignment.num_categories must be >= 2, got 1: override it, e.g. "
        "`model.assignment.num_categories=<value >= 2>`"
    )


def test_gradients_are_clipped_to_gradient_clip_val_by_global_norm(tmp_path) -> None:
    torch.manual_seed(0)
    # plain SGD at lr 1 in both groups: the step is minus the clipped gradient
    sgd = partial(torch.optim.SGD, lr=1.0)
    model = make_model(assignment_lr=1.0, optimizer=sgd, gradient_clip_val=1e-3)
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    make_trainer(tmp_path, max_steps=1).fit(model, datamodule=make_data())
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert 0 < (after - before).norm() <= 1e-3 * (1 + 1e-5)
