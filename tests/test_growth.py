"""Codebook growth curriculum: live codes, copies with jitter, optimizer state kept valid."""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from vqlab.callbacks import CodebookGrowth, DeadCodeRespawn, KMeansInit
from vqlab.errors import ConfigCombinationError, ConfigValueError
from vqlab.quantizers import GrowingQuantizer, STEQuantizer


def make_quantizer() -> GrowingQuantizer:
    torch.manual_seed(0)
    return GrowingQuantizer(dim=3, initial_size=4, quantizer=partial(STEQuantizer, 16))


def test_only_live_codes_are_searched() -> None:
    quantizer = make_quantizer()
    out = quantizer(torch.randn(200, 3))
    assert out.indices.max() < 4 and out.counts.shape == (16,)
    codebook = quantizer.quantizers[0].codebook[:4]
    z = torch.randn(50, 3)
    assert torch.equal(quantizer.encode(z), torch.cdist(z, codebook).argmin(-1))


def test_growth_keeps_old_codes_bit_identical_and_the_optimizer_steps_afterwards() -> None:
    quantizer = make_quantizer()
    codebook = quantizer.quantizers[0].codebook
    optimizer = torch.optim.Adam(quantizer.parameters(), lr=0.01)
    for _ in range(3):
        optimizer.zero_grad()
        quantizer(torch.randn(64, 3) * 0.1).loss.backward()
        optimizer.step()
    old = codebook[:4].detach().clone()
    callback = CodebookGrowth(steps=[3, 5], sizes=[8, 16], jitter=0.01)
    trainer = SimpleNamespace(global_step=3, optimizers=[optimizer])
    module = torch.nn.Module()
    module.quantizer = quantizer
    optimizer.state[codebook]["exp_avg"][4:8] = 1.0  # stale moments where the new rows go
    callback.on_train_batch_start(trainer, module, None, 0)

    assert quantizer.live_codes == 8
    assert torch.equal(codebook[:4], old)
    new = codebook[4:8].detach()
    assert 0 < (new - old).abs().max() < 0.1  # copies of the live codes, jittered
    assert optimizer.state[codebook]["exp_avg"][4:8].abs().sum() == 0
    callback.on_train_batch_start(trainer, module, None, 1)  # same step again: nothing more
    assert quantizer.live_codes == 8

    optimizer.zero_grad()
    out = quantizer(torch.randn(256, 3) * 0.1)
    out.loss.backward()
    optimizer.step()
    assert torch.isfinite(codebook).all() and out.indices.max() < 8
    trainer.global_step = 5
    callback.on_train_batch_start(trainer, module, None, 2)
    assert quantizer.live_codes == 16
    state = quantizer.state_dict()
    restored = make_quantizer()
    restored.load_state_dict(state)
    assert restored.live_codes == 16


@pytest.mark.parametrize(
    ("steps", "sizes", "key"),
    [([10, 20], [64, 32], "sizes"), ([10], [64, 128], "sizes"), ([20, 10], [32, 64], "steps")],
)
def test_a_schedule_that_shrinks_or_mismatches_names_its_key(steps, sizes, key) -> None:
    with pytest.raises(ConfigValueError) as error:
        CodebookGrowth(steps=steps, sizes=sizes)
    assert error.value.argument == key


@pytest.mark.parametrize("callback", [KMeansInit(), DeadCodeRespawn()], ids=["kmeans", "respawn"])
def test_callbacks_that_hook_a_codebook_refuse_a_growing_quantizer(callback) -> None:
    """Their forward hooks would never fire on the child (the live-code search bypasses its
    forward), and filling codes would wake the dormant ones."""
    model = nn.Sequential(make_quantizer())
    with pytest.raises(ConfigCombinationError, match="callbacks=growth"):
        callback.setup(None, model, "fit")
    callback.setup(None, nn.Sequential(STEQuantizer(16, 3)), "fit")  # a plain codebook is fine
