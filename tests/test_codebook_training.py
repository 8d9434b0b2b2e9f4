"""Codebook learning rate as its own parameter group; EMA statistics across accumulated batches."""

from __future__ import annotations

import torch

from vqlab.quantizers import AccumulatedEMAQuantizer, EMAQuantizer


def test_codebook_parameter_group_has_its_own_lr(train_config) -> None:
    from hydra.utils import instantiate

    config = train_config(
        ["model=vqvae_ste", "+model.codebook_lr=1.0e-4", "model.optimizer.lr=3.0e-3"]
    )
    model = instantiate(config.model)
    optimizer = model.configure_optimizers()["optimizer"]
    lrs = [group["lr"] for group in optimizer.param_groups]
    assert lrs == [3.0e-3, 1.0e-4]
    assert optimizer.param_groups[1]["params"] == [model.quantizer.codebook]
    assert sum(len(group["params"]) for group in optimizer.param_groups) == len(
        list(model.parameters())
    )


def test_ema_with_accumulation_2_equals_one_step_on_the_concatenated_batch() -> None:
    torch.manual_seed(0)
    accumulated = AccumulatedEMAQuantizer(16, 4, decay=0.8, accumulate_batches=2)
    reference = EMAQuantizer(16, 4, decay=0.8)
    reference.load_state_dict(accumulated.state_dict(), strict=False)
    batches = [torch.randn(30, 4), torch.randn(50, 4)]
    before = accumulated.codebook.clone()
    accumulated(batches[0])
    assert torch.equal(accumulated.codebook, before)  # first micro-batch: no step yet
    accumulated(batches[1])
    reference(torch.cat(batches))
    for name in ("codebook", "cluster_size", "embed_sum"):
        torch.testing.assert_close(getattr(accumulated, name), getattr(reference, name))
    assert accumulated.pending.abs().sum() == 0
