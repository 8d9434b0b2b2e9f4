"""``replace_codes``: the one public way to overwrite codes, and what it must also reset."""

from __future__ import annotations

import torch

from vqlab.callbacks.optimizer_rows import reset_rows
from vqlab.quantizers import EMAQuantizer, STEQuantizer


def test_ema_replace_codes_sets_statistics_so_the_next_ema_step_keeps_the_code() -> None:
    torch.manual_seed(0)
    quantizer = EMAQuantizer(codebook_size=8, dim=3, decay=0.9)
    new = torch.full((2, 3), 5.0)
    indices = torch.tensor([1, 6])
    quantizer.replace_codes(indices, new)
    torch.testing.assert_close(quantizer.codebook[indices], new)
    ratio = quantizer.embed_sum / quantizer.cluster_size.unsqueeze(1)
    torch.testing.assert_close(ratio, quantizer.codebook)
    # an EMA step on data far from the new codes (nothing assigned to them) must not undo them
    quantizer.train()
    quantizer(torch.randn(64, 3) * 0.1 - 3.0)
    torch.testing.assert_close(quantizer.codebook[indices], new, atol=1e-4, rtol=1e-4)


def test_ema_replace_codes_takes_given_counts() -> None:
    quantizer = EMAQuantizer(codebook_size=4, dim=2)
    quantizer.replace_codes(torch.tensor([0]), torch.ones(1, 2), counts=torch.tensor([7.0]))
    assert quantizer.cluster_size[0] == 7.0
    torch.testing.assert_close(quantizer.embed_sum[0], torch.full((2,), 7.0))


def test_reset_rows_zeroes_adam_moments_of_replaced_rows_only() -> None:
    torch.manual_seed(0)
    quantizer = STEQuantizer(codebook_size=6, dim=2)
    optimizer = torch.optim.Adam(quantizer.parameters(), lr=0.1)
    quantizer(torch.randn(50, 2)).loss.backward()
    optimizer.step()
    state = optimizer.state[quantizer.codebook]
    before = {name: value.clone() for name, value in state.items()}
    rows = torch.tensor([0, 3])
    quantizer.replace_codes(rows, torch.zeros(2, 2))
    reset_rows([optimizer], quantizer.codebook, rows)
    kept = torch.tensor([1, 2, 4, 5])
    for name in ("exp_avg", "exp_avg_sq"):
        assert torch.all(state[name][rows] == 0), name
        assert torch.equal(state[name][kept], before[name][kept]), name
    assert torch.equal(state["step"], before["step"])
    assert torch.all(quantizer.codebook[rows] == 0)
