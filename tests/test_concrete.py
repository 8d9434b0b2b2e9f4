"""Concrete selector and the generalized Jensen-Shannon divergence: math and properties."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from vqlab.errors import ConfigError, ConfigValueError
from vqlab.functional import entropy, generalized_jensen_shannon
from vqlab.quantizers import ConcreteSelector


def test_gjs_is_zero_for_identical_distributions() -> None:
    log_p = torch.randn(1, 10).log_softmax(-1).expand(5, 10)
    assert generalized_jensen_shannon(log_p).item() == pytest.approx(0.0, abs=1e-6)


def test_gjs_is_log_k_for_one_hots_on_distinct_features() -> None:
    k, num_features = 6, 20
    # logit gap 1e4: softmax is one-hot to float precision
    logits = torch.zeros(k, num_features)
    logits[torch.arange(k), torch.tensor([0, 3, 4, 9, 12, 19])] = 1e4
    gjs = generalized_jensen_shannon(logits.log_softmax(-1))
    assert gjs.item() == pytest.approx(math.log(k), abs=1e-5)


def test_gjs_equals_mixture_entropy_minus_mean_entropy() -> None:
    torch.manual_seed(0)
    p = torch.randn(7, 12).mul(2).softmax(-1)
    expected = entropy(p.mean(0)) - entropy(p).mean()
    assert generalized_jensen_shannon(p.log()).item() == pytest.approx(expected.item(), abs=1e-6)


def test_gjs_gradient_matches_finite_differences() -> None:
    torch.manual_seed(0)
    logits = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: generalized_jensen_shannon(a.log_softmax(-1)), logits)


def test_gjs_gradient_is_finite_when_probabilities_underflow() -> None:
    logits = torch.tensor([[0.0, -200.0, -200.0], [-200.0, 0.0, -200.0]], requires_grad=True)
    generalized_jensen_shannon(logits.log_softmax(-1)).backward()
    assert torch.isfinite(logits.grad).all()


def test_selector_gjs_uses_its_probabilities() -> None:
    selector = ConcreteSelector(num_features=10, num_selected=4)
    with torch.no_grad():
        selector.logits.normal_()
    p = selector.probabilities()
    expected = entropy(p.mean(0)) - entropy(p).mean()
    assert selector.gjs_divergence().item() == pytest.approx(expected.item(), abs=1e-6)


def test_selector_shapes_and_types() -> None:
    selector = ConcreteSelector(num_features=12, num_selected=3)
    x = torch.randn(5, 12)
    assert selector(x).shape == (5, 3)
    assert selector.probabilities().shape == (3, 12)
    assert selector.selected_features().dtype == torch.int64
    assert selector.selected_features().shape == (3,)
    assert selector.gjs_divergence().ndim == 0


def test_samples_become_the_argmax_one_hot_as_temperature_goes_to_zero() -> None:
    torch.manual_seed(0)
    selector = ConcreteSelector(num_features=16, num_selected=8, temperature=1e-4)
    with torch.no_grad():
        selector.logits.normal_()
    for _ in range(5):
        matrix = selector.selection_matrix()
        one_hot = F.one_hot(matrix.argmax(-1), 16).float()
        assert torch.allclose(matrix, one_hot, atol=1e-4)
    # with concentrated logits the perturbed argmax is the logits' argmax
    with torch.no_grad():
        selector.logits.mul_(1e3)
    assert torch.equal(selector.selection_matrix().argmax(-1), selector.selected_features())


def test_high_temperature_samples_are_soft() -> None:
    selector = ConcreteSelector(num_features=16, num_selected=8, temperature=100.0)
    assert selector.selection_matrix().amax(-1).max() < 0.5


def test_hard_samples_are_one_hot_with_soft_gradients() -> None:
    selector = ConcreteSelector(num_features=10, num_selected=4, temperature=1.0, hard=True)
    matrix = selector.selection_matrix()
    assert torch.equal(matrix.sum(-1), torch.ones(4))
    assert set(matrix.unique().tolist()) <= {0.0, 1.0}
    (selector(torch.randn(3, 10)) ** 2).sum().backward()
    assert selector.logits.grad.abs().sum() > 0


def test_eval_output_is_deterministic_and_gathers_the_argmax_features() -> None:
    selector = ConcreteSelector(num_features=10, num_selected=4, logit_dropout=0.5).eval()
    x = torch.randn(6, 10)
    first, second = selector(x), selector(x)
    assert torch.equal(first, second)
    assert torch.equal(first, x[:, selector.logits.argmax(-1)])


def test_training_samples_with_torch_rng() -> None:
    selector = ConcreteSelector(num_features=10, num_selected=4, logit_dropout=0.2)
    x = torch.randn(6, 10)
    torch.manual_seed(3)
    first = selector(x)
    torch.manual_seed(3)
    assert torch.equal(first, selector(x))
    assert not torch.equal(first, selector(x))


def test_temperature_is_a_checkpointed_buffer() -> None:
    selector = ConcreteSelector(num_features=10, num_selected=4)
    selector.temperature = 0.25
    restored = ConcreteSelector(num_features=10, num_selected=4)
    restored.load_state_dict(selector.state_dict())
    assert restored.temperature.item() == pytest.approx(0.25)


@pytest.mark.parametrize("temperature", [0.0, -1.0])
def test_non_positive_temperature_is_a_config_error(temperature: float) -> None:
    with pytest.raises(ConfigValueError):
        ConcreteSelector(num_features=10, num_selected=4, temperature=temperature)
    selector = ConcreteSelector(num_features=10, num_selected=4)
    with pytest.raises(ConfigValueError):
        selector.temperature = temperature


def test_inputs_of_the_wrong_width_are_a_config_error() -> None:
    """Data and model sizes that disagree are the user's config to fix: a one-line error."""
    with pytest.raises(ConfigError, match="num_features=10"):
        ConcreteSelector(num_features=10, num_selected=4)(torch.randn(3, 9))
