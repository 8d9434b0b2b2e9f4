"""Code-usage metric against brute force."""

from __future__ import annotations

import math

import torch

from vqlab.functional import code_histogram
from vqlab.metrics import CodeUsage


def test_usage_statistics_equal_brute_force() -> None:
    indices = torch.tensor([0, 0, 1, 3, 3, 3, 7])
    usage = CodeUsage(codebook_size=8)
    usage.update(code_histogram(indices[:3], 8))
    usage.update(code_histogram(indices[3:], 8))
    result = usage.compute()
    probabilities = [2 / 7, 1 / 7, 3 / 7, 1 / 7]
    expected_entropy = -sum(p * math.log(p) for p in probabilities)
    assert math.isclose(result["entropy"], expected_entropy, rel_tol=1e-6)
    assert math.isclose(result["perplexity"], math.exp(expected_entropy), rel_tol=1e-6)
    assert result["usage"] == 4 / 8
    assert result["dead_fraction"] == 4 / 8


def test_uniform_usage_has_perplexity_k_and_reset_starts_a_new_window() -> None:
    usage = CodeUsage(codebook_size=5)
    usage.update(torch.full((5,), 3.0))
    assert math.isclose(usage.compute()["perplexity"], 5.0, rel_tol=1e-6)
    usage.reset()
    usage.update(torch.tensor([4.0, 0, 0, 0, 0]))
    result = usage.compute()
    assert math.isclose(result["perplexity"], 1.0, rel_tol=1e-6)
    assert result["dead_fraction"] == 0.8


def test_code_histogram_equals_bincount() -> None:
    indices = torch.randint(0, 11, (3, 50))
    expected = torch.bincount(indices.reshape(-1), minlength=11).float()
    assert torch.equal(code_histogram(indices, 11), expected)
