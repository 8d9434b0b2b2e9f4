"""Affine reparameterization + synchronized update: one SGD step against a hand computation."""

from __future__ import annotations

import pytest
import torch

from vqlab.errors import ConfigValueError
from vqlab.quantizers import AffineQuantizer


def test_one_sgd_step_equals_the_hand_computed_update_and_moves_unused_codes() -> None:
    quantizer = AffineQuantizer(3, 2, beta=0.4, sync_nu=0.5)
    with torch.no_grad():
        quantizer.base.copy_(torch.tensor([[0.0, 0.0], [1.0, 1.0], [5.0, -5.0]]))
        quantizer.mean.copy_(torch.tensor([0.1, -0.1]))
        quantizer.std.copy_(torch.tensor([2.0, 0.5]))
    z = torch.tensor([[0.2, 0.0], [1.9, 0.3], [2.2, 0.5]], requires_grad=True)
    upstream = torch.tensor([[1.0, -1.0], [0.5, 2.0], [-1.0, 0.0]])
    out = quantizer(z)
    # codes: [0.1, -0.1], [2.1, 0.4], [10.1, -2.6]; nearest: 0, 1, 1 (code 2 unused)
    assert out.indices.tolist() == [0, 1, 1]
    (out.loss + (out.quantized * upstream).sum()).backward()

    # by hand: dL/dc_k = 2 / (N d) sum_{n -> k} (c_k - z_n) + nu sum_{n -> k} g_n
    codes = torch.tensor([[0.1, -0.1], [2.1, 0.4], [10.1, -2.6]])
    zs = z.detach()
    grad_codes = torch.zeros(3, 2)
    for n, k in enumerate([0, 1, 1]):
        grad_codes[k] += 2 / 6 * (codes[k] - zs[n]) + 0.5 * upstream[n]
    base = torch.tensor([[0.0, 0.0], [1.0, 1.0], [5.0, -5.0]])
    std = torch.tensor([2.0, 0.5])
    torch.testing.assert_close(quantizer.base.grad, std * grad_codes)
    torch.testing.assert_close(quantizer.mean.grad, grad_codes.sum(0))
    torch.testing.assert_close(quantizer.std.grad, (base * grad_codes).sum(0))
    # encoder: the upstream gradient (STE) plus the commitment term 2 beta / (N d) (z - c_k)
    expected_z = upstream + 2 * 0.4 / 6 * (zs - codes[[0, 1, 1]])
    torch.testing.assert_close(z.grad, expected_z)

    lr = 0.1
    with torch.no_grad():
        for parameter in (quantizer.base, quantizer.mean, quantizer.std):
            parameter -= lr * parameter.grad
    mean = torch.tensor([0.1, -0.1]) - lr * grad_codes.sum(0)
    new_std = std - lr * (base * grad_codes).sum(0)
    expected = mean + new_std * (base - lr * std * grad_codes)
    torch.testing.assert_close(quantizer.codebook, expected)
    assert not torch.allclose(quantizer.codebook[2], codes[2])  # the unused code moved too


def test_sync_nu_zero_gives_the_codes_no_task_gradient() -> None:
    torch.manual_seed(0)
    quantizer = AffineQuantizer(4, 3, sync_nu=0.0)
    z = torch.randn(5, 3)
    out = quantizer(z)
    (grad,) = torch.autograd.grad(out.quantized.sum(), quantizer.base, allow_unused=True)
    assert grad is None or torch.count_nonzero(grad) == 0


def test_replace_codes_sets_the_effective_code() -> None:
    torch.manual_seed(0)
    quantizer = AffineQuantizer(4, 3)
    with torch.no_grad():
        quantizer.mean.copy_(torch.randn(3))
        quantizer.std.copy_(torch.tensor([2.0, -0.5, 1.5]))
    vectors = torch.randn(2, 3)
    quantizer.replace_codes(torch.tensor([1, 3]), vectors)
    torch.testing.assert_close(quantizer.codebook[[1, 3]].detach(), vectors)


def test_negative_sync_nu_names_the_key() -> None:
    with pytest.raises(ConfigValueError) as error:
        AffineQuantizer(4, 3, sync_nu=-1.0)
    assert error.value.argument == "sync_nu"
