"""Checkpoint files that are either the old version or the complete new one, on any filesystem.

Lightning's default writer stages a checkpoint in ``$TMPDIR`` and moves it to its name; when the
log directory is on another filesystem (NFS, Lustre, a second disk: the usual cluster layout) the
move is a copy into the final name, so a kill or a full disk during the copy destroys the previous
file and leaves a truncated one. Here the file is written next to its final name, flushed to the
disk, and renamed over it (a rename within a directory is atomic on POSIX filesystems); the
directory is flushed too, so the rename survives a crash.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.plugins.io import TorchCheckpointIO

TEMPORARY_SUFFIX = ".tmp"


def temporary_path(path: Path) -> Path:
    """Where ``path`` is staged: ``<dir>/.<name>.tmp`` (hidden, so ``*.ckpt`` globs skip it)."""
    return path.with_name(f".{path.name}{TEMPORARY_SUFFIX}")


def fsync_directory(directory: Path) -> None:
    """Flush a directory's entries (a rename in it) to the disk, where the OS allows it."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. a filesystem that cannot open directories
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> None:
    """``write(file)`` into ``<dir>/.<name>.tmp``, fsync, rename to ``path``, fsync ``<dir>``.

    On any failure (a full disk, an interrupt) the temporary file is removed and ``path`` keeps
    its previous content. A ``kill -9`` during the write leaves the temporary file (the next
    write of ``path`` replaces it) and the previous ``path`` intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(path)
    try:
        with open(temporary, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save(obj, path)`` through ``atomic_write``."""
    atomic_write(path, lambda file: torch.save(obj, file))


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint plugin that writes local checkpoints with ``atomic_write`` and loads
    them with ``weights_only=True`` (tensors and plain values only: a checkpoint cannot run code).

    ``weights_only=false`` (``trainer.plugins.0.weights_only=false``) loads a checkpoint you
    trust that holds other objects. Remote paths (``s3://...``) keep Lightning's writer.
    """

    def __init__(self, weights_only: bool = True) -> None:
        super().__init__()
        self.weights_only = weights_only

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or "://" in str(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        atomic_torch_save(checkpoint, path)

    def load_checkpoint(
        self, path: _PATH, map_location: Any | None = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        return super().load_checkpoint(path, map_location, weights_only=self.weights_only)
