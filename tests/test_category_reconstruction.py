"""The per-category reconstruction term: the formula by loops, its pull on the assignment."""

from __future__ import annotations

import torch

from vqlab.regularizers import AssignmentLosses, CategoryReconstruction


def test_loss_equals_the_probability_weighted_error_of_each_categorys_read_out() -> None:
    torch.manual_seed(0)
    b, num_categories, m, num_features = 5, 3, 2, 4
    term = CategoryReconstruction(num_categories, m, num_features)
    with torch.no_grad():
        term.bias.normal_()
    x, latents = torch.randn(b, num_features), torch.randn(b, num_categories, m)
    probabilities = torch.rand(num_features, num_categories).softmax(-1)
    expected = 0.0
    for d in range(num_features):
        for k in range(num_categories):
            for i in range(b):
                prediction = latents[i, k] @ term.weight[k, :, d] + term.bias[k, 0, d]
                expected += probabilities[d, k] * (x[i, d] - prediction) ** 2
    expected = expected / (b * num_features)
    torch.testing.assert_close(term(x, latents, probabilities), expected)


def test_gradient_moves_each_feature_towards_the_category_that_predicts_it() -> None:
    torch.manual_seed(1)
    term = CategoryReconstruction(2, 1, 2)
    with torch.no_grad():  # category 0 reads feature 0 out of its latent, category 1 feature 1
        term.weight.zero_()
        term.weight[0, 0, 0] = 1.0
        term.weight[1, 0, 1] = 1.0
    x = torch.randn(64, 2)
    latents = x.unsqueeze(-1)  # (b, K = 2, m = 1): category k's latent is feature k
    logits = torch.zeros(2, 2, requires_grad=True)
    term(x, latents, logits.softmax(-1)).backward()
    assert logits.grad[0, 0] < 0 < logits.grad[0, 1]  # descent raises P(feature 0 -> cat 0)
    assert logits.grad[1, 1] < 0 < logits.grad[1, 0]


def test_assignment_losses_add_the_weighted_term_and_report_it() -> None:
    torch.manual_seed(2)
    term = CategoryReconstruction(3, 2, 6)
    losses = AssignmentLosses(0.5, 0.25, 1.0, category_recon=term, category_recon_weight=2.0)
    probabilities = torch.rand(6, 3).softmax(-1)
    mask = torch.ones(6, 3, dtype=torch.bool)
    latents, x = torch.randn(8, 3, 2), torch.randn(8, 6)
    terms = losses(probabilities, mask, latents, x)
    torch.testing.assert_close(terms["category_recon"], term(x, latents, probabilities))
    expected = 0.5 * terms["balance"] + 0.25 * terms["orthogonality"]
    expected = expected + 2.0 * terms["category_recon"]
    torch.testing.assert_close(terms["total"], expected + terms["family"])
    assert "category_recon" not in AssignmentLosses()(probabilities, mask, latents, x)
