"""The fast paths of nearest-code search and the EMA update equal their brute-force definitions."""

from __future__ import annotations

import pytest
import torch

from vqlab.functional import code_histogram, nearest_code
from vqlab.quantizers import EMAQuantizer


@pytest.mark.parametrize("block_rows", [1, 64, 1000, 1 << 22])
def test_nearest_code_matches_cdist_argmin_for_any_block_size(block_rows: int) -> None:
    generator = torch.Generator().manual_seed(0)
    z = torch.randn(1003, 5, generator=generator)  # 1003 rows: the last block is ragged
    codebook = torch.randn(37, 5, generator=generator)
    expected = torch.cdist(z, codebook).argmin(-1)
    assert torch.equal(nearest_code(z, codebook, block_rows), expected)


@pytest.mark.parametrize("block_rows", [64, 1 << 22])
def test_nearest_code_stays_exact_far_from_the_origin(block_rows: int) -> None:
    # codes and inputs share an offset of 30 with spread 0.1: |e|^2 - 2 z.e cancels in float32
    generator = torch.Generator().manual_seed(4)
    offset = torch.full((16,), 30.0)
    z = offset + 0.1 * torch.randn(2000, 16, generator=generator)
    codebook = offset + 0.1 * torch.randn(64, 16, generator=generator)
    expected = torch.cdist(z.double(), codebook.double()).argmin(-1)
    wrong = (nearest_code(z, codebook, block_rows) != expected).float().mean()
    assert wrong == 0.0


def test_nearest_code_under_bf16_autocast_uses_float32_distances() -> None:
    generator = torch.Generator().manual_seed(1)
    z = torch.randn(500, 8, generator=generator).bfloat16()
    codebook = torch.randn(300, 8, generator=generator)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        indices = nearest_code(z, codebook, block_rows=3000)
    assert torch.equal(indices, torch.cdist(z.double(), codebook.double()).argmin(-1))


def test_code_histogram_equals_bincount() -> None:
    indices = torch.randint(0, 7, (4, 25), generator=torch.Generator().manual_seed(2))
    expected = torch.bincount(indices.reshape(-1), minlength=9).float()
    assert torch.equal(code_histogram(indices, 9), expected)


def test_ema_update_follows_the_docstring_formula() -> None:
    torch.manual_seed(3)
    decay, eps, size = 0.9, 1e-5, 4
    quantizer = EMAQuantizer(size, 3, decay=decay, eps=eps).train()
    z_e = torch.randn(2, 5, 3)
    indices = quantizer.encode(z_e).reshape(-1)
    flat = z_e.reshape(-1, 3)
    one_hot = torch.nn.functional.one_hot(indices, size).float()  # (n, k)
    counts = decay * quantizer.cluster_size + (1 - decay) * one_hot.sum(0)
    sums = decay * quantizer.embed_sum + (1 - decay) * one_hot.t() @ flat
    total = counts.sum()
    smoothed = (counts + eps) / (total + size * eps) * total

    out = quantizer(z_e)

    assert torch.equal(out.counts, one_hot.sum(0))
    torch.testing.assert_close(quantizer.cluster_size, counts)
    torch.testing.assert_close(quantizer.embed_sum, sums)
    torch.testing.assert_close(quantizer.codebook, sums / smoothed.unsqueeze(1))
