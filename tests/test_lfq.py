"""LFQ / BSQ against brute force: sign codes, indices, and the entropy terms over all 2^C codes."""

from __future__ import annotations

import pytest
import torch

from vqlab.errors import ConfigValueError
from vqlab.quantizers import BSQQuantizer, LFQQuantizer
from vqlab.quantizers.bit_entropy import BlockedCodeMass
from vqlab.quantizers.lfq import bit_assignment_entropy


def all_codes(channels: int, scale: float = 1.0) -> torch.Tensor:
    """Every sign code, row k holding bit i of k as +scale / -scale, written independently."""
    rows = [
        [scale if (k >> i) & 1 else -scale for i in range(channels)] for k in range(2**channels)
    ]
    return torch.tensor(rows, dtype=torch.float64)


def dense_entropy_terms(x: torch.Tensor, codes: torch.Tensor, tau: float) -> torch.Tensor:
    """``mean_n H(P_n) - H(mean_n P_n)`` with ``P_n = softmax(-||x_n - c||^2 / tau)``: N x K."""
    p = torch.softmax(-torch.cdist(x, codes).pow(2) / tau, dim=-1)  # (n, k)
    per_sample = -(torch.special.xlogy(p, p)).sum(-1).mean()
    q = p.mean(0)
    return per_sample + torch.special.xlogy(q, q).sum()


def test_codes_are_signs_and_indices_are_the_binary_number_of_the_positive_channels() -> None:
    torch.manual_seed(0)
    quantizer = LFQQuantizer(5, codebook_size=32)
    z = torch.randn(40, 5)
    out = quantizer(z)
    torch.testing.assert_close(out.quantized, torch.where(z > 0, 1.0, -1.0))
    expected = sum((z[:, i] > 0).long() * 2**i for i in range(5))
    assert torch.equal(out.indices, expected)
    assert torch.equal(quantizer.decode(quantizer.encode(z)), out.quantized)
    assert torch.equal(quantizer.codes_of(torch.arange(32)), all_codes(5).float())


@pytest.mark.parametrize("tau", [1.0, 0.3])
def test_entropy_terms_equal_the_dense_brute_force_and_so_does_the_gradient(tau: float) -> None:
    torch.manual_seed(0)
    x = torch.randn(60, 6, dtype=torch.float64, requires_grad=True)
    got = bit_assignment_entropy(x, 4 / tau)
    expected = dense_entropy_terms(x, all_codes(6), tau)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(torch.autograd.grad(got, x)[0], torch.autograd.grad(expected, x)[0])


def test_blocked_code_mass_equals_one_block_and_sums_to_n() -> None:
    torch.manual_seed(0)
    logits = torch.randn(50, 4, dtype=torch.float64, requires_grad=True)
    log_on, log_off = (
        torch.nn.functional.logsigmoid(logits),
        torch.nn.functional.logsigmoid(-logits),
    )
    upstream = torch.randn(16, dtype=torch.float64)
    blocked = BlockedCodeMass.apply(log_on, log_off, 16 * 7)  # 8 blocks of 7 rows
    whole = BlockedCodeMass.apply(log_on, log_off, 1 << 20)
    torch.testing.assert_close(blocked, whole)
    torch.testing.assert_close(blocked.sum(), torch.tensor(50.0, dtype=torch.float64))
    torch.testing.assert_close(
        torch.autograd.grad(blocked, logits, upstream, retain_graph=True)[0],
        torch.autograd.grad(whole, logits, upstream)[0],
    )


def test_lfq_loss_is_commitment_plus_weighted_entropy_terms() -> None:
    torch.manual_seed(0)
    quantizer = LFQQuantizer(4, codebook_size=16, beta=0.4, entropy_weight=0.3, tau=0.5)
    z = torch.randn(30, 4)
    out = quantizer(z)
    commitment = 0.4 * (z - torch.where(z > 0, 1.0, -1.0)).pow(2).mean()
    entropy = 0.3 * dense_entropy_terms(z.double(), all_codes(4), 0.5).float()
    torch.testing.assert_close(out.terms["commitment"], commitment)
    torch.testing.assert_close(out.terms["entropy_loss"], entropy)
    torch.testing.assert_close(out.loss, commitment + entropy)
    assert "entropy_loss" not in quantizer.eval()(z).terms  # a training-time term


def test_bsq_codes_are_unit_sign_vectors_of_the_normalised_input() -> None:
    torch.manual_seed(0)
    quantizer = BSQQuantizer(16, codebook_size=2**4, entropy_weight=0.1, tau=0.5)
    z = torch.randn(30, 16)
    out = quantizer(z)
    x = torch.nn.functional.normalize(quantizer.project_in(z), dim=-1).detach()
    codes = torch.where(x > 0, 0.5, -0.5)  # 1 / sqrt(4)
    torch.testing.assert_close(quantizer.project_out(codes), out.quantized)
    assert torch.equal(quantizer.decode(quantizer.encode(z)), out.quantized)
    expected = 0.1 * dense_entropy_terms(x.double(), all_codes(4, 0.5), 0.5).float()
    torch.testing.assert_close(out.terms["entropy_loss"], expected)


@pytest.mark.parametrize("size", [0, 1, 6, 500])
def test_a_codebook_size_that_is_no_power_of_two_names_the_key(size: int) -> None:
    with pytest.raises(ConfigValueError) as error:
        LFQQuantizer(16, codebook_size=size)
    assert error.value.argument == "codebook_size"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="peak memory is measured on CUDA")
def test_codebook_entropy_at_k_2_16_holds_no_n_by_k_buffer() -> None:
    x = torch.randn(32768, 16, device="cuda", requires_grad=True)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    bit_assignment_entropy(x, 4.0).backward()
    torch.cuda.synchronize()
    extra = torch.cuda.max_memory_allocated() - before
    assert extra < 64 * 2**20, extra  # a dense N x K float32 would be 8 GiB
