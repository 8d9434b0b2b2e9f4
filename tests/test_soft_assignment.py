"""SoftAssignment, its families and indirect logits, the assignment losses, the clustering init."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import adjusted_rand_score

from vqlab.clustering.features import correlation_clusters, family_correlation_clusters
from vqlab.data import GroupedFeaturesDataModule
from vqlab.errors import ConfigValueError
from vqlab.quantizers import ConcreteSelector, SoftAssignment
from vqlab.regularizers import balance_loss, family_loss, orthogonality_loss

FAMILIES = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]  # 10 features in 3 families


@pytest.mark.parametrize("hard", [False, True])
def test_sampled_and_eval_rows_sum_to_one(hard: bool) -> None:
    torch.manual_seed(0)
    assignment = SoftAssignment(12, 4, temperature=0.7, hard=hard)
    with torch.no_grad():
        assignment.logits.normal_()
    sample = assignment()
    torch.testing.assert_close(sample.sum(-1), torch.ones(12))
    assert (sample >= 0).all()
    assert torch.equal(assignment.eval()(), F.one_hot(assignment.logits.argmax(-1), 4).float())
    assert torch.equal(assignment.hard_assignment(), assignment.logits.argmax(-1))


def test_cross_family_probability_is_exactly_zero_in_samples_and_probabilities() -> None:
    torch.manual_seed(0)
    assignment = SoftAssignment(10, 6, families=FAMILIES, family_categories=[2, 2, 2])
    with torch.no_grad():
        assignment.logits.normal_(std=5.0)
    allowed = torch.tensor(FAMILIES).unsqueeze(1) == torch.tensor([0, 0, 1, 1, 2, 2])
    assert torch.equal(assignment.mask, allowed)
    for matrix in (assignment.probabilities(), assignment(), assignment.eval()()):
        assert torch.equal(matrix[~allowed], torch.zeros(int((~allowed).sum())))
        torch.testing.assert_close(matrix.sum(-1), torch.ones(10))
    assert family_loss(assignment.probabilities(), assignment.mask) == 0.0


def test_soft_family_loss_is_the_probability_outside_the_family() -> None:
    assignment = SoftAssignment(10, 6, families=FAMILIES, family_mask=False)
    with torch.no_grad():
        assignment.logits.zero_()  # uniform: each feature puts 4 of 6 sixths outside its family
    probabilities = assignment.probabilities()
    assert probabilities.min() > 0
    torch.testing.assert_close(family_loss(probabilities, assignment.mask), torch.tensor(4 / 6))


@pytest.mark.parametrize("indirect_dim", [None, 3])
def test_gradients_reach_the_logits_or_the_indirect_embedding(indirect_dim: int | None) -> None:
    torch.manual_seed(0)
    assignment = SoftAssignment(8, 3, indirect_dim=indirect_dim)
    x = torch.randn(5, 8)
    target = torch.randn(5, 3)
    (x @ assignment() - target).square().mean().backward()
    parameters = dict(assignment.named_parameters())
    names = ["logits"] if indirect_dim is None else ["indirect.embedding", "indirect.linear.weight"]
    assert set(names) <= parameters.keys()
    for name in names:
        assert parameters[name].grad is not None and parameters[name].grad.abs().sum() > 0, name


def test_indirect_concrete_selector_trains_its_embedding_and_keeps_its_interface() -> None:
    torch.manual_seed(0)
    selector = ConcreteSelector(num_features=16, num_selected=4, indirect_dim=8)
    assert selector.logits is None and "logits" not in selector.state_dict()
    selector(torch.randn(6, 16)).square().sum().backward()
    assert selector.indirect.embedding.grad.abs().sum() > 0
    assert selector.probabilities().shape == (4, 16)
    assert 0 <= selector.gjs_divergence() <= torch.log(torch.tensor(4.0))
    x = torch.randn(3, 16)
    assert torch.equal(selector.eval()(x), x[:, selector.selection_logits().argmax(-1)])


def test_balance_loss_is_zero_for_equal_sizes_and_grows_with_imbalance() -> None:
    equal = F.one_hot(torch.arange(12) % 4, 4).float()
    assert balance_loss(equal) == 0.0
    assert balance_loss(torch.full((12, 4), 0.25)) == 0.0
    losses = []
    for moved in range(4):  # move features of category 3 into category 0, one at a time
        labels = torch.arange(12) % 4
        labels[torch.nonzero(labels == 3).squeeze(1)[:moved]] = 0
        losses.append(balance_loss(F.one_hot(labels, 4).float()).item())
    assert losses[0] == 0.0 and all(a < b for a, b in itertools.pairwise(losses))
    # K n_k / D = (2, 1, 1, 0) when all three moved: mean of (1, 0, 0, 1) = 0.5
    assert losses[-1] == pytest.approx(0.5)


def test_orthogonality_loss_is_zero_for_uncorrelated_latents_and_half_for_copies() -> None:
    torch.manual_seed(0)
    # columns orthogonal to the constant vector and to each other: zero-mean, uncorrelated
    basis, _ = torch.linalg.qr(torch.cat([torch.ones(64, 1), torch.randn(64, 6)], 1))
    latents = basis[:, 1:].reshape(64, 3, 2)
    assert orthogonality_loss(latents).item() == pytest.approx(0.0, abs=1e-6)
    # three copies of one 2-d latent with uncorrelated coordinates: of each cross block's 4
    # correlations, the 2 diagonal ones are 1
    copies = latents[:, :1].expand(64, 3, 2)
    assert orthogonality_loss(copies).item() == pytest.approx(0.5, abs=1e-3)


def test_initialize_sets_the_hard_assignment_for_free_and_indirect_logits() -> None:
    labels = torch.tensor([2, 0, 1, 1, 0, 2, 2, 0])
    for indirect_dim in (None, 4):
        torch.manual_seed(0)
        assignment = SoftAssignment(8, 3, indirect_dim=indirect_dim)
        assignment.initialize(labels, confidence=3.0)
        assert torch.equal(assignment.hard_assignment(), labels)
        expected = 3.0 * F.one_hot(labels, 3).float()
        torch.testing.assert_close(assignment.raw_logits(), expected, atol=1e-4, rtol=0)


def test_freeze_gives_the_eval_matrix_in_training_without_gradient() -> None:
    torch.manual_seed(0)
    assignment = SoftAssignment(8, 3)
    with torch.no_grad():
        assignment.logits.normal_()
    expected = assignment.eval()()
    assignment.train().freeze()
    assert torch.equal(assignment(), expected) and not assignment().requires_grad
    restored = SoftAssignment(8, 3)
    restored.load_state_dict(assignment.state_dict())
    assert restored.is_frozen and torch.equal(restored.train()(), expected)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"num_features": 8, "num_categories": 1}, "num_categories"),
        ({"num_features": 3, "num_categories": 4}, "num_categories"),
        ({"num_features": 10, "num_categories": 6, "families": FAMILIES[:9]}, "families"),
        (
            {
                "num_features": 10,
                "num_categories": 6,
                "families": FAMILIES,
                "family_categories": [1, 4, 1],
            },
            "family_categories",
        ),
        (
            {
                "num_features": 10,
                "num_categories": 5,
                "families": FAMILIES,
                "family_categories": [2, 2, 2],
            },
            "family_categories",
        ),
        ({"num_features": 10, "num_categories": 2, "families": FAMILIES}, "num_categories"),
        ({"num_features": 8, "num_categories": 2, "indirect_dim": 0}, "indirect_dim"),
    ],
)
def test_bad_arguments_raise_config_errors_naming_the_key(kwargs: dict, argument: str) -> None:
    with pytest.raises(ConfigValueError) as error:
        SoftAssignment(**kwargs)
    assert error.value.argument == argument


def test_initialize_rejects_a_non_positive_confidence() -> None:
    with pytest.raises(ConfigValueError, match="init_confidence"):
        SoftAssignment(8, 2).initialize(torch.zeros(8, dtype=torch.long), confidence=0.0)


def test_correlation_clustering_recovers_planted_groups_within_families() -> None:
    data = GroupedFeaturesDataModule(num_features=24, num_groups=4, num_families=2, num_samples=600)
    samples = data.load()
    labels = correlation_clusters(samples, 4)
    assert adjusted_rand_score(data.groups.numpy(), labels.numpy()) == 1.0
    owners = torch.tensor([0, 0, 1, 1])
    by_family = family_correlation_clusters(samples, data.families, owners)
    assert torch.equal(owners[by_family], data.families)
    assert adjusted_rand_score(data.groups.numpy(), by_family.numpy()) == 1.0


def test_clustering_init_without_a_soft_assignment_or_a_datamodule_is_a_config_error() -> None:
    from types import SimpleNamespace

    from vqlab.callbacks import ClusteringInit
    from vqlab.errors import ConfigCombinationError

    trainer = SimpleNamespace(ckpt_path=None, datamodule=None)
    with pytest.raises(ConfigCombinationError, match="has no SoftAssignment"):
        ClusteringInit().on_fit_start(trainer, torch.nn.Linear(2, 2))
    with pytest.raises(ConfigCombinationError, match="needs a datamodule"):
        ClusteringInit().samples(trainer)
