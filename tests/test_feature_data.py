"""Vector datasets: planted feature groups (ground truth exposed) and numeric tables on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vqlab.data import GroupedFeaturesDataModule, TabularDataModule
from vqlab.data.grouped_features import hermite, hermite_multi_indices
from vqlab.errors import ConfigValueError, DataIntegrityError


def test_grouped_features_are_correlated_within_and_not_across_planted_groups() -> None:
    data = GroupedFeaturesDataModule(
        num_features=18, num_groups=3, num_families=2, num_samples=4000, noise=0.3
    )
    samples = data.load()
    assert samples.shape == (4000, 18)
    torch.testing.assert_close(samples.mean(0), torch.zeros(18), atol=1e-5, rtol=0)
    assert torch.bincount(data.groups).tolist() == [6, 6, 6]
    assert not torch.equal(data.groups, torch.arange(18) // 6)  # shuffled feature order
    # group g belongs to family g mod 2
    assert torch.equal(data.families, data.groups % 2)
    correlation = torch.corrcoef(samples.t()).abs()
    same = data.groups.unsqueeze(0) == data.groups.unsqueeze(1)
    off_diagonal = ~torch.eye(18, dtype=torch.bool)
    assert correlation[~same].max() < 0.1
    assert correlation[same & off_diagonal].mean() > 0.4


def test_grouped_features_are_reproducible_by_seed() -> None:
    first = GroupedFeaturesDataModule(num_samples=300, seed=3)
    second = GroupedFeaturesDataModule(num_samples=300, seed=3)
    assert torch.equal(first.groups, second.groups)
    assert torch.equal(first.load(), second.load())
    assert not torch.equal(GroupedFeaturesDataModule(num_samples=300, seed=4).groups, first.groups)


def test_npy_and_csv_tables_load_the_same_values(tmp_path: Path) -> None:
    table = np.random.default_rng(0).normal(size=(40, 3))
    np.save(tmp_path / "t.npy", table)
    np.savetxt(tmp_path / "t.csv", table, delimiter=",", header="x,y,z", comments="")
    np.savetxt(tmp_path / "bare.csv", table, delimiter=",")
    loaded = [
        TabularDataModule(str(tmp_path / name), num_features=3, standardize=False).load()
        for name in ("t.npy", "t.csv", "bare.csv")
    ]
    for values in loaded:
        torch.testing.assert_close(values, torch.from_numpy(table).float())


def test_standardisation_uses_the_training_split(tmp_path: Path) -> None:
    table = np.random.default_rng(1).normal(3.0, 2.0, size=(50, 2))
    table[:, 1] = 5.0  # a constant column keeps scale 1
    np.save(tmp_path / "t.npy", table)
    data = TabularDataModule(str(tmp_path / "t.npy"), num_features=2, val_fraction=0.2)
    data.setup()
    train = data.splits["train"].tensors[0]
    torch.testing.assert_close(train.mean(0), torch.zeros(2), atol=1e-5, rtol=0)
    assert train[:, 0].std() == pytest.approx(1.0, abs=1e-5)


def test_a_table_that_is_not_2d_numeric_is_rejected(tmp_path: Path) -> None:
    np.save(tmp_path / "t.npy", np.zeros(5))
    with pytest.raises(DataIntegrityError, match="expected a 2-D numeric array"):
        TabularDataModule(str(tmp_path / "t.npy"), num_features=1)
    with pytest.raises(ConfigValueError, match=r"path must be a \.npy or \.csv file"):
        TabularDataModule(str(tmp_path / "t.parquet"), num_features=1)
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3\n")
    with pytest.raises(DataIntegrityError, match="row 3 has 1 values"):
        TabularDataModule(str(tmp_path / "ragged.csv"), num_features=2)
    with pytest.raises(ConfigValueError, match="num_features must be 2"):
        np.save(tmp_path / "u.npy", np.zeros((4, 2)))
        TabularDataModule(str(tmp_path / "u.npy"))


def test_hermite_polynomials_match_their_closed_forms() -> None:
    t = torch.linspace(-2, 2, 9)
    torch.testing.assert_close(hermite(t, 0), torch.ones(9))
    torch.testing.assert_close(hermite(t, 2), t**2 - 1)
    torch.testing.assert_close(hermite(t, 3), t**3 - 3 * t)
    torch.testing.assert_close(hermite(t, 4), t**4 - 6 * t**2 + 3)
    assert hermite_multi_indices(2, 5) == [(2, 0), (1, 1), (0, 2), (3, 0), (2, 1)]


def test_nonlinear_groups_are_uncorrelated_but_dependent_within_a_group() -> None:
    data = GroupedFeaturesDataModule(
        num_features=24, num_groups=3, num_samples=20000, noise=0.3, nonlinear=True
    )
    samples = data.load()
    same = data.groups.unsqueeze(0) == data.groups.unsqueeze(1)
    off_diagonal = ~torch.eye(24, dtype=torch.bool)
    correlation = torch.corrcoef(samples.t()).abs()
    # correlation sees no groups (0 in expectation; heavy tails leave sampling noise) ...
    assert correlation[same & off_diagonal].mean() < 0.05
    squares = torch.corrcoef(samples.square().t()).abs()  # ... the squares do
    assert squares[same & off_diagonal].max() > 0.3
    assert squares[~same].mean() < 0.05
