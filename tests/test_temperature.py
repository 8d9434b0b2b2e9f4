"""Temperature annealing: schedules, warm-up, stop_anneal, and exact resume."""

from __future__ import annotations

import itertools
import math
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from vqlab.callbacks import TemperatureAnnealing
from vqlab.cli.one_line import one_line_errors
from vqlab.errors import ConfigValueError
from vqlab.models import ConcreteAutoencoder
from vqlab.nets import MLPDecoder
from vqlab.quantizers import ConcreteSelector

MODES = ["exp", "linear", "cosine"]


def resolved(callback: TemperatureAnnealing, start: int, end: int) -> TemperatureAnnealing:
    callback.load_state_dict({"start": start, "end": end})
    return callback


@pytest.mark.parametrize("mode", MODES)
def test_schedule_starts_at_base_ends_at_min_and_decreases(mode: str) -> None:
    callback = resolved(TemperatureAnnealing(10.0, 0.01, mode), start=0, end=19)
    values = [callback.temperature_at(epoch) for epoch in range(20)]
    assert values[0] == pytest.approx(10.0)
    assert values[-1] == pytest.approx(0.01)
    assert all(later < earlier for earlier, later in itertools.pairwise(values))


def test_exp_schedule_is_the_cae_papers_formula() -> None:
    callback = resolved(TemperatureAnnealing(10.0, 0.01, "exp"), start=0, end=10)
    for epoch in range(11):
        assert callback.temperature_at(epoch) == pytest.approx(10.0 * (0.01 / 10.0) ** (epoch / 10))


@pytest.mark.parametrize("mode", ["linear", "cosine"])
def test_linear_and_cosine_interior_values_follow_their_formulas(mode: str) -> None:
    callback = resolved(TemperatureAnnealing(5.0, 1.0, mode), start=2, end=10)
    for epoch in range(2, 11):
        p = (epoch - 2) / 8
        if mode == "linear":
            expected = 5.0 - 4.0 * p
        else:
            expected = 1.0 + 4.0 * 0.5 * (1.0 + math.cos(math.pi * p))
        assert callback.temperature_at(epoch) == pytest.approx(expected, rel=1e-12)


def trainer_of(max_epochs: int, batches: int = 10) -> SimpleNamespace:
    """What ``resolve`` reads of a Trainer about to fit ``max_epochs`` of ``batches`` steps."""
    return SimpleNamespace(
        max_epochs=max_epochs,
        num_training_batches=batches,
        accumulate_grad_batches=1,
        estimated_stepping_batches=max_epochs * batches,
        fast_dev_run=False,
    )


@pytest.mark.parametrize(
    ("max_epochs", "warmup_epochs", "span"), [(1, 0, (0, 9)), (5, 4, (40, 49))]
)
def test_a_run_too_short_to_anneal_per_epoch_anneals_per_step(
    max_epochs: int, warmup_epochs: int, span: tuple[int, int]
) -> None:
    callback = TemperatureAnnealing(5.0, 0.1, "linear", warmup_epochs=warmup_epochs)
    callback.resolve(trainer_of(max_epochs))
    assert (callback.unit, callback.start, callback.end) == ("step", *span)
    assert callback.temperature_at(span[0]) == 5.0
    assert callback.temperature_at(span[1]) == pytest.approx(0.1)
    assert callback.temperature_at(span[0] + 3) == pytest.approx(5.0 - 4.9 * 3 / 9)


def test_a_one_step_run_holds_the_end_temperature() -> None:
    callback = TemperatureAnnealing(5.0, 0.1)
    callback.resolve(trainer_of(max_epochs=1, batches=1))
    assert callback.temperature_at(0) == pytest.approx(0.1)


def test_a_warmup_past_the_end_of_training_is_refused_in_one_readable_line() -> None:
    callback = TemperatureAnnealing(5.0, 0.1, warmup_epochs=7)
    with pytest.raises(ConfigValueError) as error:
        callback.resolve(trainer_of(max_epochs=5))
    with pytest.raises(SystemExit), one_line_errors():
        raise error.value
    assert error.value.argument == "callbacks.temperature.warmup_epochs"


@pytest.mark.parametrize("mode", MODES)
def test_warmup_holds_base_and_first_annealed_epoch_is_at_base(mode: str) -> None:
    callback = TemperatureAnnealing(5.0, 0.1, mode, warmup_epochs=3)
    resolved(callback, start=3, end=9)
    assert [callback.temperature_at(epoch) for epoch in range(4)] == pytest.approx([5.0] * 4)
    assert callback.temperature_at(4) < 5.0


@pytest.mark.parametrize("mode", MODES)
def test_temperature_holds_at_min_after_stop_anneal(mode: str) -> None:
    callback = TemperatureAnnealing(5.0, 0.1, mode, warmup_epochs=2, stop_anneal=6)
    callback.resolve(L.Trainer(max_epochs=20, logger=False))
    assert (callback.start, callback.end) == (2, 6)
    assert callback.temperature_at(5) > 0.1
    assert [callback.temperature_at(epoch) for epoch in range(6, 20)] == pytest.approx([0.1] * 14)


def test_invalid_settings_are_config_errors() -> None:
    for kwargs in (
        {"temp_min": 0.0},
        {"temp_base": -1.0},
        {"mode": "step"},
        {"interval": "batch"},
        {"warmup_epochs": 4, "stop_anneal": 4},
        {"temp_base": math.inf},
        {"temp_min": math.nan},
    ):
        with pytest.raises(ConfigValueError):
            TemperatureAnnealing(**kwargs)


class TemperatureRecorder(L.Callback):
    """The selector's temperature at every training step."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.values.append(pl_module.selector.temperature.item())


class StopAfter(L.Callback):
    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if trainer.current_epoch + 1 == self.epochs:
            trainer.should_stop = True


def tiny_cae() -> ConcreteAutoencoder:
    return ConcreteAutoencoder(
        ConcreteSelector(num_features=6, num_selected=2),
        MLPDecoder(output_shape=[6], hidden_features=[4], latent_dim=2),
        optimizer=partial(torch.optim.Adam, lr=1e-2),
    )


def fit(
    root: Path,
    interval: str,
    extra: list[L.Callback],
    ckpt_path: str | None = None,
    max_epochs: int = 4,
) -> tuple[list[float], ConcreteAutoencoder]:
    torch.manual_seed(0)
    # its own generator: starting an epoch draws nothing from the global one (see RNG resume)
    loader = DataLoader(
        TensorDataset(torch.randn(12, 6)), batch_size=4, generator=torch.Generator()
    )
    model, recorder = tiny_cae(), TemperatureRecorder()
    callbacks = [TemperatureAnnealing(10.0, 0.01, "exp", interval=interval), recorder, *extra]
    trainer = L.Trainer(
        max_epochs=max_epochs,
        default_root_dir=root,
        logger=False,
        callbacks=callbacks,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        accelerator="cpu",
    )
    trainer.fit(model, loader, ckpt_path=ckpt_path)
    return recorder.values, model


@pytest.mark.parametrize("interval", ["epoch", "step"])
def test_trainer_drives_the_schedule_and_resume_continues_it(tmp_path: Path, interval: str):
    full, full_model = fit(tmp_path / "full", interval, [])
    per_epoch = 1 if interval == "step" else 3  # steps that share one temperature
    assert full[0] == pytest.approx(10.0) and full[-1] == pytest.approx(0.01)
    assert len(set(full)) == len(full) // per_epoch

    first, _ = fit(tmp_path / "cut", interval, [StopAfter(2)])
    checkpoint = next((tmp_path / "cut").rglob("*.ckpt"))
    state = torch.load(checkpoint, weights_only=False)
    assert state["state_dict"]["selector.temperature_buffer"].item() == pytest.approx(first[-1])
    restored = tiny_cae()
    restored.load_state_dict(state["state_dict"])
    assert restored.selector.temperature.item() == pytest.approx(first[-1])

    # resumed with a longer max_epochs, stopped where the full run ended: the checkpointed
    # schedule (not one re-derived from max_epochs) continues, and the Gumbel noise with it
    rest, resumed_model = fit(
        tmp_path / "resume", interval, [StopAfter(4)], ckpt_path=str(checkpoint), max_epochs=6
    )
    assert first + rest == pytest.approx(full)
    for name, tensor in full_model.state_dict().items():
        assert torch.equal(resumed_model.state_dict()[name], tensor), name
