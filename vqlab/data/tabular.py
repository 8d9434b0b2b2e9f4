"""Any numeric table as vectors: ``data=tabular data.path=table.csv data.num_features=D``.

``.npy`` (a 2-D numeric array) or ``.csv`` (comma-separated, an optional header row of column
names, every column numeric); rows are samples. Columns are standardised with the training split's
mean and standard deviation (constant columns keep scale 1) when ``standardize`` is true.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from vqlab.data.splits import split_indices
from vqlab.data.tensor_datamodule import TensorDataModule
from vqlab.errors import ConfigValueError, DataIntegrityError, DatasetNotFoundError

SUFFIXES = (".npy", ".csv")


def read_csv(path: Path) -> np.ndarray:
    """A CSV of numbers (n, D), the first row skipped when it is not numeric (a header)."""
    with path.open(newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    if rows and not all(is_number(cell) for cell in rows[0]):
        header, rows = rows[0], rows[1:]
    else:
        header = [f"column {index}" for index in range(len(rows[0]) if rows else 0)]
    for line, row in enumerate(rows, start=2 if len(header) and rows else 1):
        if len(row) != len(header):
            raise DataIntegrityError(
                f"{path}: row {line} has {len(row)} values, the table {len(header)}"
            )
        for name, cell in zip(header, row, strict=True):
            if not is_number(cell):
                raise DataIntegrityError(
                    f"{path}: column '{name}' is not numeric (row {line}: {cell!r}); drop or "
                    "encode it as numbers before using data=tabular"
                )
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(header))


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def read_table(path: Path) -> np.ndarray:
    """The table at ``path`` as a float array (n, D); one-line errors for anything else."""
    if path.suffix not in SUFFIXES:
        raise ConfigValueError("path", "a .npy or .csv file", str(path))
    if not path.is_file():
        raise DatasetNotFoundError(
            f"no file at data.path={path}: point data.path at a .npy or .csv table"
        )
    if path.suffix == ".csv":
        return read_csv(path)
    array = np.load(path, allow_pickle=False)
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.number):
        raise DataIntegrityError(
            f"data.path={path}: expected a 2-D numeric array (samples, features), got "
            f"shape {array.shape} of {array.dtype}"
        )
    return array


class TabularDataModule(TensorDataModule):
    """Rows of a ``.npy`` / ``.csv`` table as (n, D) float vectors, split by seed."""

    def __init__(
        self,
        path: str,
        num_features: int | None = None,
        standardize: bool = True,
        batch_size: int = 128,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size, val_fraction, test_fraction, num_workers=0, seed=seed)
        self.path = Path(path)
        self.table = torch.from_numpy(read_table(self.path)).float()
        if not torch.isfinite(self.table).all():
            raise DataIntegrityError(f"data.path={path}: the table holds NaN or infinite values")
        columns = self.table.shape[1]
        if num_features != columns:
            # the models size themselves from input_shape = [data.num_features] at compose time
            raise ConfigValueError(
                "num_features", f"{columns} (the columns of {path})", num_features
            )
        self.num_features = columns
        self.standardize = standardize

    def load(self) -> Tensor:
        if not self.standardize:
            return self.table
        train, _, _ = split_indices(
            len(self.table), self.val_fraction, self.test_fraction, self.seed
        )
        mean = self.table[train].mean(0)
        std = self.table[train].std(0)
        return (self.table - mean) / torch.where(std > 0, std, torch.ones_like(std))
