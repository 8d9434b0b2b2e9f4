"""Online clustered re-init (CVQ-VAE): one event against a hand computation, and exact resume."""

from __future__ import annotations

import math

import pytest
import torch
from codebook_harness import TinyAutoencoder

from vqlab.callbacks import OnlineClusteredReinit
from vqlab.errors import ConfigValueError
from vqlab.quantizers import STEQuantizer


def make_model() -> TinyAutoencoder:
    model = TinyAutoencoder(STEQuantizer(3, 2), features=2)
    with torch.no_grad():
        model.encoder.weight.copy_(torch.eye(2))
        model.encoder.bias.zero_()
        model.quantizer.codebook.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0], [9.0, 9.0]]))
    return model


def test_one_step_equals_the_hand_computation() -> None:
    model = make_model()
    callback = OnlineClusteredReinit(decay=0.5, sharpness=0.2, min_weight=0.0)
    callback.setup(None, model, "fit")
    x = torch.tensor([[0.1, 0.0], [0.2, 0.1], [0.9, 0.2], [3.0, 4.0]])
    model.train()
    model(x)  # codes 0, 0, 1, 1 (x3 is nearer code 1 than code 2)
    callback.on_train_batch_end(None, model, None, None, 0)

    # by hand: u = 0.5 * 0 + 0.5 * p, p = (2/4, 2/4, 0)
    usage = [0.5 * 0.5, 0.5 * 0.5, 0.0]
    weights = [math.exp(-u * 3 * 0.2 / 0.5 - 1e-3) for u in usage]
    # closest anchors: the batch output nearest to each code
    anchors = [[0.1, 0.0], [0.9, 0.2], [3.0, 4.0]]
    old = [[0.0, 0.0], [1.0, 0.0], [9.0, 9.0]]
    expected = torch.tensor(
        [
            [(1 - w) * o + w * a for o, a in zip(old_k, anchor_k, strict=True)]
            for w, old_k, anchor_k in zip(weights, old, anchors, strict=True)
        ]
    )
    torch.testing.assert_close(callback.usage["quantizer"], torch.tensor(usage))
    torch.testing.assert_close(model.quantizer.codebook.detach(), expected)


def test_well_used_codes_are_left_alone_and_state_round_trips() -> None:
    model = make_model()
    callback = OnlineClusteredReinit(decay=0.9)  # default sharpness: used codes get a ~ 0
    callback.setup(None, model, "fit")
    model.train()
    model(torch.tensor([[0.1, 0.0], [0.9, 0.1], [8.0, 8.0]]))  # every code used once
    callback.on_train_batch_end(None, model, None, None, 0)
    torch.testing.assert_close(
        model.quantizer.codebook.detach(), torch.tensor([[0.0, 0.0], [1.0, 0.0], [9.0, 9.0]])
    )
    restored = OnlineClusteredReinit(decay=0.9)
    restored.setup(None, make_model(), "fit")
    restored.load_state_dict(callback.state_dict())
    restored.on_train_start(None, None)
    assert torch.equal(restored.usage["quantizer"], callback.usage["quantizer"])


@pytest.mark.parametrize(
    ("key", "kwargs"), [("decay", {"decay": 1.0}), ("sharpness", {"sharpness": 0})]
)
def test_bad_arguments_name_their_key(key: str, kwargs) -> None:
    with pytest.raises(ConfigValueError) as error:
        OnlineClusteredReinit(**kwargs)
    assert error.value.argument == key
