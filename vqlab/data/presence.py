"""One-line errors for datasets that are missing or incomplete on disk."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vqlab.errors import DatasetNotFoundError

DOWNLOAD_HINT = "or pass data.download=true to fetch it"


def dataset_not_found(
    dataset: str,
    looked_for: str,
    layouts: Sequence[str],
    downloadable: bool,
    key: str = "data.root",
) -> DatasetNotFoundError:
    """``<dataset> not found: looked for ...; accepted layouts: ...; fix``, as one line.

    ``key`` is the config key that points at the data (``data.path`` for an image folder).
    """
    fix = f"set {key}=<folder> to a local copy"
    if downloadable:
        fix = f"{fix}, {DOWNLOAD_HINT}"
    return DatasetNotFoundError(
        f"{dataset} not found: looked for {looked_for}; accepted layouts: {' | '.join(layouts)}; "
        f"{fix}"
    )


def require_files(dataset: str, folder: Path, names: Sequence[str], layout: str) -> None:
    """Raise ``DatasetNotFoundError`` unless every file ``names`` is in ``folder``."""
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise dataset_not_found(
            dataset, f"{', '.join(missing)} in {folder}", [layout], downloadable=True
        )
