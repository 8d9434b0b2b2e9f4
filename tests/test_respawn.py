"""Dead-code respawn: exactly the dead codes move, onto encoder outputs, and stay there."""

from __future__ import annotations

import pytest
import torch
from codebook_harness import TinyAutoencoder, stand_in_trainer

from vqlab.callbacks import DeadCodeRespawn
from vqlab.errors import ConfigCombinationError, ConfigValueError
from vqlab.functional import nearest_code
from vqlab.quantizers import EMAQuantizer, STEQuantizer


def clustered_batch(seed: int = 0) -> torch.Tensor:
    """Inputs whose encodings all land near a few codes, so most of the codebook is dead."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(64, 6, generator=generator) * 0.05 + 0.5


def run_window(model: TinyAutoencoder, callback: DeadCodeRespawn, steps: int = 3) -> torch.Tensor:
    """``steps`` training forwards recorded by the callback; returns the window's histogram."""
    model.train()
    for step in range(steps):
        model(clustered_batch(step))
    return callback.windows["quantizer"].histogram.clone()


def test_respawn_replaces_exactly_the_dead_codes_with_encoder_outputs() -> None:
    torch.manual_seed(0)
    model = TinyAutoencoder(EMAQuantizer(codebook_size=16, dim=4))
    callback = DeadCodeRespawn(every_n_steps=1, threshold=1)
    callback.setup(None, model, "fit")
    histogram = run_window(model, callback)
    dead = (histogram < 1).nonzero().squeeze(1)
    assert 0 < dead.numel() < 16
    before = model.quantizer.codebook.clone()
    latest = callback.windows["quantizer"].latest.clone()

    replaced = callback.respawn("quantizer", model.quantizer, stand_in_trainer([]))

    after = model.quantizer.codebook
    assert replaced == dead.numel()
    alive = torch.ones(16, dtype=torch.bool)
    alive[dead] = False
    assert torch.equal(after[alive], before[alive])  # only the dead codes moved
    assert not torch.equal(after[dead], before[dead])
    # each new code is one of this step's encoder outputs, and the nearest code of it
    matches = (after[dead].unsqueeze(1) == latest.unsqueeze(0)).all(-1)  # (dead, n)
    assert torch.all(matches.any(-1))
    sources = matches.float().argmax(-1)
    assert torch.equal(nearest_code(latest[sources], after), dead)
    assert torch.all(callback.windows["quantizer"].histogram == 0)  # a new window starts


def test_ema_step_right_after_a_respawn_keeps_the_new_codes() -> None:
    """EnCodec #61: codes written into the codebook alone are undone by the next EMA step."""
    torch.manual_seed(1)
    quantizer = EMAQuantizer(codebook_size=16, dim=4, decay=0.9)
    model = TinyAutoencoder(quantizer)
    callback = DeadCodeRespawn(every_n_steps=1, threshold=1)
    callback.setup(None, model, "fit")
    histogram = run_window(model, callback)
    callback.respawn("quantizer", quantizer, stand_in_trainer([]))
    dead = (histogram < 1).nonzero().squeeze(1)
    torch.testing.assert_close(
        quantizer.embed_sum / quantizer.cluster_size.unsqueeze(1), quantizer.codebook
    )
    respawned = quantizer.codebook[dead].clone()
    model(torch.randn(64, 6) * 0.01 - 50.0)  # an EMA step whose data chooses other codes
    untouched = quantizer.cluster_size[dead] > 0.85 * quantizer.cluster_size[dead].max()
    torch.testing.assert_close(quantizer.codebook[dead][untouched], respawned[untouched])


def test_respawn_resets_adam_moments_of_replaced_rows_of_a_gradient_codebook() -> None:
    torch.manual_seed(2)
    model = TinyAutoencoder(STEQuantizer(codebook_size=16, dim=4))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    callback = DeadCodeRespawn(every_n_steps=1, threshold=1)
    callback.setup(None, model, "fit")
    model.train()
    for step in range(3):
        optimizer.zero_grad()
        x_hat, out = model(clustered_batch(step))
        (out.loss + x_hat.pow(2).mean()).backward()
        optimizer.step()
    dead = (callback.windows["quantizer"].histogram < 1).nonzero().squeeze(1)
    state = optimizer.state[model.quantizer.codebook]
    state["exp_avg"].fill_(1.0)  # make every row's moment visibly non-zero
    callback.respawn("quantizer", model.quantizer, stand_in_trainer([], [optimizer]))
    assert torch.all(state["exp_avg"][dead] == 0)
    assert torch.all(state["exp_avg"].sum(-1) == 4.0 * (state["exp_avg"].sum(-1) != 0))
    assert int((state["exp_avg"].sum(-1) != 0).sum()) == 16 - dead.numel()


@pytest.mark.parametrize("threshold", [0.5, 0.999, 2, 0])
def test_fractional_and_integer_thresholds_count_dead_codes(threshold) -> None:
    """vector-quantize-pytorch #205: a fractional threshold crashed its sampler."""
    torch.manual_seed(3)
    model = TinyAutoencoder(EMAQuantizer(codebook_size=16, dim=4))
    callback = DeadCodeRespawn(
        every_n_steps=1, threshold=threshold, source="buffer", buffer_size=64
    )
    callback.setup(None, model, "fit")
    histogram = run_window(model, callback)
    limit = threshold * histogram.sum() / 16 if isinstance(threshold, float) else threshold
    expected = int((histogram < limit).sum())
    assert callback.respawn("quantizer", model.quantizer, stand_in_trainer([])) == expected


def test_buffer_source_keeps_the_most_recent_outputs_in_a_ring() -> None:
    model = TinyAutoencoder(EMAQuantizer(codebook_size=4, dim=4))
    callback = DeadCodeRespawn(source="buffer", buffer_size=100)
    callback.setup(None, model, "fit")
    window = callback.windows["quantizer"]
    for step in range(3):  # 3 x 64 rows into 100: the last 100 rows remain
        callback._write(window, torch.full((64, 4), float(step)))
    assert window.filled == 100 and window.position == 92
    assert int((window.buffer[:, 0] == 2).sum()) == 64
    assert int((window.buffer[:, 0] == 1).sum()) == 36


@pytest.mark.parametrize(
    ("arguments", "key"),
    [
        ({"threshold": -1}, "threshold"),
        ({"every_n_steps": 0}, "every_n_steps"),
        ({"source": "disk"}, "source"),
        ({"noise": -0.1}, "noise"),
    ],
)
def test_bad_respawn_arguments_name_their_key(arguments, key) -> None:
    with pytest.raises(ConfigValueError, match=key):
        DeadCodeRespawn(**arguments)


def test_buffer_smaller_than_the_codebook_is_refused() -> None:
    model = TinyAutoencoder(EMAQuantizer(codebook_size=16, dim=4))
    with pytest.raises(ConfigValueError, match="buffer_size"):
        DeadCodeRespawn(source="buffer", buffer_size=8).setup(None, model, "fit")


def test_respawn_on_a_model_without_a_codebook_is_refused_unless_optional() -> None:
    model = torch.nn.Linear(2, 2)
    with pytest.raises(ConfigCombinationError, match=r"callbacks\.respawn"):
        DeadCodeRespawn().setup(None, model, "fit")
    optional = DeadCodeRespawn(require_codebook=False)
    optional.setup(None, model, "fit")
    assert optional.quantizers == {}
