"""VQ-VAE-2: grid shapes, nearest codes per level, the bottom path's gradient, losses, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from tiny_vqvae2 import LATENT_DIM, seed_both_codebooks, tiny_vqvae2

from vqlab.cli.one_line import one_line_errors
from vqlab.metrics import CodeUsage, UsageWindows


@pytest.mark.parametrize(
    ("size", "bottom_stages", "top_stages", "bottom_grid", "top_grid"),
    [
        (8, 1, 1, 4, 2),  # the digits default
        (8, 2, 1, 2, 1),  # the smallest top grid: 1x1
        (32, 2, 1, 8, 4),  # the paper's /4 and /8, on CIFAR-10
        (64, 2, 1, 16, 8),
        (64, 1, 2, 32, 8),
    ],
)
def test_latent_grids_are_input_over_two_to_the_stages(
    size: int, bottom_stages: int, top_stages: int, bottom_grid: int, top_grid: int
) -> None:
    torch.manual_seed(0)
    model = tiny_vqvae2(size, bottom_stages, top_stages).eval()
    x = torch.randn(2, 1, size, size)
    top_indices, bottom_indices = model.encode(x)
    assert top_indices.shape == (2, top_grid, top_grid)
    assert bottom_indices.shape == (2, bottom_grid, bottom_grid)
    x_hat, quantized = model(x)
    assert x_hat.shape == x.shape
    assert quantized.top.quantized.shape == (2, top_grid, top_grid, LATENT_DIM)
    assert quantized.bottom.quantized.shape == (2, bottom_grid, bottom_grid, LATENT_DIM)


def test_each_level_picks_the_brute_force_nearest_code_and_decode_inverts_encode() -> None:
    torch.manual_seed(0)
    model = tiny_vqvae2(codes=(6, 20)).eval()
    x = torch.randn(16, 1, 8, 8)
    seed_both_codebooks(model, x[:8])
    with torch.no_grad():
        x_hat, quantized = model(x)
        features, h_top = model.encoder.encode_top(x)
        top_reference = torch.cdist(h_top.reshape(-1, LATENT_DIM), model.top_quantizer.codebook)
        e_top = model.top_quantizer.codebook[top_reference.argmin(-1)].reshape(h_top.shape)
        h_bottom = model.encoder.encode_bottom(features, e_top)
        bottom_reference = torch.cdist(
            h_bottom.reshape(-1, LATENT_DIM), model.bottom_quantizer.codebook
        )
        top_indices, bottom_indices = model.encode(x)
        decoded = model.decode(top_indices, bottom_indices)
    assert torch.equal(quantized.top.indices.flatten(), top_reference.argmin(-1))
    assert torch.equal(quantized.bottom.indices.flatten(), bottom_reference.argmin(-1))
    # not a trivial agreement: both levels use several codes
    assert quantized.top.indices.unique().numel() >= 4
    assert quantized.bottom.indices.unique().numel() >= 10
    assert torch.equal(top_indices, quantized.top.indices)
    assert torch.equal(bottom_indices, quantized.bottom.indices)
    torch.testing.assert_close(decoded, x_hat)


def top_encoder_gradient(
    model, x: torch.Tensor, direct: bool, through_bottom: bool
) -> torch.Tensor:
    """d recon / d (top encoder's 1x1 projection), with the chosen paths of e_top kept."""
    model.zero_grad()
    features, h_top = model.encoder.encode_top(x)
    e_top = model.top_quantizer(h_top).quantized
    bottom = model.bottom_quantizer(
        model.encoder.encode_bottom(features, e_top if through_bottom else e_top.detach())
    )
    x_hat = model.decoder(bottom.quantized, e_top if direct else e_top.detach())
    F.mse_loss(x_hat, x).backward()
    gradient = model.encoder.top_encoder[-1].weight.grad
    return torch.zeros(1) if gradient is None else gradient.clone()


def test_top_gradient_reaches_the_top_encoder_through_the_bottom_path() -> None:
    torch.manual_seed(0)
    model = tiny_vqvae2().eval()  # eval: no EMA step between the passes, same codes each time
    x = torch.randn(8, 1, 8, 8)
    seed_both_codebooks(model, x)
    through_bottom = top_encoder_gradient(model, x, direct=False, through_bottom=True)
    direct = top_encoder_gradient(model, x, direct=True, through_bottom=False)
    assert through_bottom.norm() > 1e-3 * direct.norm() > 0
    assert top_encoder_gradient(model, x, direct=False, through_bottom=False).abs().max() == 0

    # the model's own forward uses both paths: its gradient is their sum
    model.zero_grad()
    x_hat, _ = model(x)
    F.mse_loss(x_hat, x).backward()
    full = model.encoder.top_encoder[-1].weight.grad
    torch.testing.assert_close(full, through_bottom + direct, rtol=1e-4, atol=1e-7)


def test_loss_is_recon_plus_both_levels_quantizer_losses() -> None:
    torch.manual_seed(0)
    model = tiny_vqvae2().eval()
    x = torch.randn(4, 1, 8, 8)
    x_hat, quantized = model(x)
    terms = model.losses(x, x_hat, quantized)
    recon = ((x_hat - x) ** 2).mean()
    torch.testing.assert_close(terms["recon_mse"], recon)
    torch.testing.assert_close(terms["top/vq_loss"], quantized.top.loss)
    torch.testing.assert_close(terms["bottom/vq_loss"], quantized.bottom.loss)
    torch.testing.assert_close(terms["vq_loss"], quantized.top.loss + quantized.bottom.loss)
    torch.testing.assert_close(terms["loss"], recon + quantized.top.loss + quantized.bottom.loss)
    assert quantized.top.loss > 0 and quantized.bottom.loss > 0


def test_usage_windows_name_each_level_and_equal_its_own_code_usage() -> None:
    counts = {"top": torch.tensor([3.0, 0.0, 1.0, 0.0]), "bottom": torch.tensor([1.0, 1.0])}
    usage = UsageWindows({"top": 4, "bottom": 2})
    joint = torch.cat(list(counts.values()))
    usage.train_window.update(joint)
    usage.train_window.update(joint)
    stats = usage.statistics("train")
    for level, histogram in counts.items():
        reference = CodeUsage(histogram.numel())
        reference.update(2 * histogram)
        for name, value in reference.compute().items():
            torch.testing.assert_close(stats[f"{level}/{name}"], value)
    assert stats["top/usage"] == 0.5 and stats["bottom/dead_fraction"] == 0.0
    assert stats["usage"] == 4 / 6  # the joint window: 4 of the 6 codes
    assert usage.statistics("val")["usage"] == 0  # the evaluation window is its own
    usage.train_window.reset()
    assert usage.train_window.histogram.sum() == 0


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.top_quantizer.codebook_size=0", "model.top_quantizer.codebook_size must be > 0"),
        ("model.bottom_quantizer.codebook_size=-3", "model.bottom_quantizer.codebook_size"),
        # 8x8 digits through 3 + 1 stride-2 stages would leave a top grid of 1/2 x 1/2
        ("model.encoder.bottom_stages=3", "model.encoder.bottom_stages must be <= 2 with top_st"),
        ("model.encoder.top_stages=3", "model.encoder.top_stages must be <= 2 for 8x8 inputs"),
        ("model.encoder.top_stages=0", "model.encoder.top_stages must be an integer >= 1"),
    ],
)
def test_bad_level_settings_give_one_error_line_naming_the_key(
    override: str, message: str, train_config, capsys
) -> None:
    cfg = train_config(["model=vqvae2", override])
    with pytest.raises(SystemExit) as exit_info, one_line_errors():
        instantiate(cfg.model)
    assert exit_info.value.code == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("vqlab: error: ")
    assert message in line
