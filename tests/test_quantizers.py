"""EMA and STE quantizers against brute force and the formulas of the VQ-VAE paper."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vqlab.errors import ConfigValueError
from vqlab.quantizers import EMAQuantizer, STEQuantizer

QUANTIZERS = [
    lambda: EMAQuantizer(codebook_size=37, dim=6, beta=0.4),
    lambda: STEQuantizer(codebook_size=37, dim=6, beta=0.4),
]


@pytest.fixture(autouse=True)
def seed() -> None:
    torch.manual_seed(0)


@pytest.mark.parametrize("make", QUANTIZERS, ids=["ema", "ste"])
def test_indices_equal_cdist_argmin(make) -> None:
    quantizer = make()
    z = torch.randn(5, 7, 6) * 2
    out = quantizer(z)
    brute = torch.cdist(z.reshape(-1, 6), quantizer.codebook).argmin(-1).reshape(5, 7)
    assert out.indices.dtype == torch.int64
    assert out.indices.shape == (5, 7)
    assert torch.equal(out.indices, brute)


def test_blocked_search_equals_one_block() -> None:
    from vqlab.functional import nearest_code

    codebook = torch.randn(300, 8)
    z = torch.randn(1000, 8)
    whole = nearest_code(z, codebook)
    assert torch.equal(nearest_code(z, codebook, block_rows=300 * 7), whole)
    assert torch.equal(whole, torch.cdist(z, codebook).argmin(-1))


@pytest.mark.parametrize("make", QUANTIZERS, ids=["ema", "ste"])
def test_decode_of_encode_is_quantized(make) -> None:
    quantizer = make().eval()
    z = torch.randn(4, 3, 6)
    out = quantizer(z)
    decoded = quantizer.decode(quantizer.encode(z))
    assert torch.equal(decoded, quantizer.codebook[out.indices])
    # z + (z_q - z) equals z_q up to one float32 rounding
    torch.testing.assert_close(out.quantized, decoded, rtol=0, atol=1e-6)


@pytest.mark.parametrize("make", QUANTIZERS, ids=["ema", "ste"])
def test_straight_through_gradient_reaches_z_unchanged(make) -> None:
    quantizer = make()
    z = torch.randn(8, 6, requires_grad=True)
    upstream = torch.randn(8, 6)
    (quantizer(z).quantized * upstream).sum().backward()
    torch.testing.assert_close(z.grad, upstream, rtol=0, atol=0)


@pytest.mark.parametrize("make", QUANTIZERS, ids=["ema", "ste"])
def test_counts_are_the_histogram_of_indices(make) -> None:
    out = make()(torch.randn(50, 6))
    expected = torch.bincount(out.indices.reshape(-1), minlength=37).float()
    assert torch.equal(out.counts, expected)
    assert not out.counts.requires_grad


def test_ste_loss_is_codebook_plus_beta_commitment() -> None:
    beta = 0.4
    quantizer = STEQuantizer(codebook_size=10, dim=3, beta=beta)
    z = torch.randn(20, 3, requires_grad=True)
    out = quantizer(z)
    z_q = quantizer.codebook.detach()[out.indices]
    mse = ((z.detach() - z_q) ** 2).mean()
    torch.testing.assert_close(out.loss, (1 + beta) * mse)
    out.loss.backward()
    # commitment pulls z towards z_q with weight beta: d/dz beta * mean((z - z_q)^2)
    torch.testing.assert_close(z.grad, beta * 2 * (z.detach() - z_q) / z.numel())
    # codebook term pulls each used code towards its assigned z with weight 1
    expected = torch.zeros_like(quantizer.codebook).index_add_(
        0, out.indices, 2 * (z_q - z.detach()) / z.numel()
    )
    torch.testing.assert_close(quantizer.codebook.grad, expected)


def test_ema_loss_is_beta_commitment_only() -> None:
    beta = 0.4
    quantizer = EMAQuantizer(codebook_size=10, dim=3, beta=beta).eval()
    z = torch.randn(20, 3, requires_grad=True)
    out = quantizer(z)
    z_q = quantizer.codebook[out.indices]
    torch.testing.assert_close(out.loss, beta * F.mse_loss(z.detach(), z_q))
    out.loss.backward()
    torch.testing.assert_close(z.grad, beta * 2 * (z.detach() - z_q) / z.numel())


def test_ema_update_equals_hand_computed_step() -> None:
    decay, eps = 0.9, 1e-3
    quantizer = EMAQuantizer(codebook_size=3, dim=2, decay=decay, eps=eps)
    codebook = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    quantizer.codebook.copy_(codebook)
    quantizer.embed_sum.copy_(codebook)
    z = torch.tensor([[1.0, 1.0], [-1.0, 1.0], [9.0, 1.0]])  # codes 0, 0, 1; code 2 unused
    quantizer(z)
    counts = torch.tensor([2.0, 1.0, 0.0])
    sums = torch.tensor([[0.0, 2.0], [9.0, 1.0], [0.0, 0.0]])
    cluster_size = decay * torch.ones(3) + (1 - decay) * counts
    embed_sum = decay * codebook + (1 - decay) * sums
    total = cluster_size.sum()
    smoothed = (cluster_size + eps) / (total + 3 * eps) * total
    torch.testing.assert_close(quantizer.cluster_size, cluster_size)
    torch.testing.assert_close(quantizer.embed_sum, embed_sum)
    torch.testing.assert_close(quantizer.codebook, embed_sum / smoothed[:, None])


def test_ema_codewords_move_towards_their_assigned_mean() -> None:
    quantizer = EMAQuantizer(codebook_size=4, dim=2, decay=0.8)
    target = quantizer.codebook[1] + torch.tensor([0.3, -0.2])
    z = target + 0.01 * torch.randn(64, 2)
    for _ in range(60):
        quantizer(z)
    torch.testing.assert_close(quantizer.codebook[1], z.mean(0), atol=1e-3, rtol=0)


def test_ema_is_frozen_in_eval_mode() -> None:
    quantizer = EMAQuantizer(codebook_size=8, dim=4).eval()
    before = {name: buffer.clone() for name, buffer in quantizer.named_buffers()}
    quantizer(torch.randn(32, 4))
    for name, buffer in quantizer.named_buffers():
        assert torch.equal(buffer, before[name]), name


@pytest.mark.parametrize("make", QUANTIZERS, ids=["ema", "ste"])
def test_bf16_autocast_gives_float32_indices(make) -> None:
    quantizer = make().eval()
    z = torch.randn(256, 6)
    expected = quantizer(z).indices
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z_bf16 = z.to(torch.bfloat16).float()  # what a bf16 encoder would hand over
        got = quantizer(z).indices
    assert torch.equal(got, expected)
    assert torch.equal(
        quantizer(z_bf16).indices, torch.cdist(z_bf16, quantizer.codebook).argmin(-1)
    )


@pytest.mark.parametrize(
    ("make", "argument"),
    [
        (lambda: EMAQuantizer(0, 4), "codebook_size"),
        (lambda: STEQuantizer(-3, 4), "codebook_size"),
        (lambda: STEQuantizer(8, 4, beta=-1.0), "beta"),
        (lambda: EMAQuantizer(8, 4, decay=1.0), "decay"),
        (lambda: EMAQuantizer(8, 4, eps=0.0), "eps"),
        (lambda: EMAQuantizer(8, 4, codebook_init="zeros"), "codebook_init"),
    ],
)
def test_bad_arguments_name_the_argument(make, argument: str) -> None:
    with pytest.raises(ConfigValueError) as error:
        make()
    assert error.value.argument == argument


def test_ema_codebook_init_uniform_starts_near_the_origin_and_normal_stays_the_default() -> None:
    torch.manual_seed(0)
    uniform = EMAQuantizer(512, 64, codebook_init="uniform")
    assert uniform.codebook.abs().max() <= 1 / 512
    assert uniform.codebook.abs().mean() > 0.4 / 512  # U(-1/K, 1/K): mean |e| = 1 / (2K)
    assert torch.equal(uniform.embed_sum, uniform.codebook)  # m = N e with N = 1
    torch.manual_seed(0)
    default = EMAQuantizer(512, 64)
    torch.manual_seed(0)
    assert torch.equal(default.codebook, torch.randn(512, 64))  # N(0, 1), as before


def test_mismatched_dim_says_which_sizes() -> None:
    with pytest.raises(ValueError, match="dim=6"):
        STEQuantizer(8, 6)(torch.randn(4, 5))


KEYWORD_ONLY = {
    "EMAQuantizer": lambda q: q.EMAQuantizer(512, 64, 0.25),
    "AccumulatedEMAQuantizer": lambda q: q.AccumulatedEMAQuantizer(512, 64, 0.9),
    "STEQuantizer": lambda q: q.STEQuantizer(512, 64, 0.25),
    "CosineQuantizer": lambda q: q.CosineQuantizer(512, 64, 0.25),
    "SimVQQuantizer": lambda q: q.SimVQQuantizer(512, 64, 0.25),
    "GroupedQuantizer": lambda q: q.GroupedQuantizer(64, 2, q.STEQuantizer),
    "ResidualQuantizer": lambda q: q.ResidualQuantizer(64, 2, q.STEQuantizer),
    "ProjectedQuantizer": lambda q: q.ProjectedQuantizer(64, 8, q.STEQuantizer),
    "GrowingQuantizer": lambda q: q.GrowingQuantizer(64, 4, q.STEQuantizer),
    "ScalarQuantizer": lambda q: q.ScalarQuantizer(64, 4, 16),
}


@pytest.mark.parametrize("name", KEYWORD_ONLY)
def test_arguments_after_dim_are_keyword_only(name: str) -> None:
    """``EMAQuantizer(512, 64, 0.25)`` once set ``decay`` (meant as ``beta``, STE's third
    argument): every argument after ``dim`` must be named."""
    import vqlab.quantizers as q

    with pytest.raises(TypeError, match="positional argument"):
        KEYWORD_ONLY[name](q)


def test_ema_takes_beta_by_name() -> None:
    quantizer = EMAQuantizer(512, 64, beta=0.1)
    assert quantizer.beta == 0.1 and quantizer.decay == 0.99
