"""Decide whether a dataset lives in device memory, and decode it once into one uint8 tensor."""

from __future__ import annotations

import os

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from vqlab.errors import ConfigValueError

IN_MEMORY_CHOICES = ("auto", "true", "false")
# `auto` keeps a dataset in device memory when it takes at most this fraction of the free memory,
# leaving the rest to the model, its activations and the optimizer.
FREE_MEMORY_FRACTION = 0.25
DECODE_BATCH_SIZE = 512


def parse_in_memory(value: str | bool) -> str:
    """Normalise ``data.in_memory`` (YAML may give a bool) to ``auto``, ``true`` or ``false``."""
    text = str(value).lower()
    if text not in IN_MEMORY_CHOICES:
        raise ConfigValueError("in_memory", "one of auto, true, false", value)
    return text


def free_bytes(device: torch.device) -> int:
    """Free memory of ``device``: CUDA's free memory, or the host's available RAM (Linux)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def keeps_in_memory(in_memory: str, num_bytes: int, device: torch.device) -> bool:
    """``true``/``false`` as given; ``auto``: ``num_bytes <= FREE_MEMORY_FRACTION * free``."""
    if in_memory == "auto":
        return num_bytes <= FREE_MEMORY_FRACTION * free_bytes(device)
    return in_memory == "true"


def decode_all(dataset: Dataset, num_workers: int) -> tuple[Tensor, Tensor]:
    """All ``(uint8 image, label)`` samples of ``dataset`` stacked: ``(n, c, h, w)``, ``(n,)``.

    Goes through the dataset's own ``__getitem__`` (and so its transforms), so the rows equal what
    the DataLoader path serves; ``num_workers`` processes decode in parallel.
    """
    loader = DataLoader(dataset, batch_size=DECODE_BATCH_SIZE, num_workers=num_workers)
    images, labels = zip(*loader, strict=True)
    return torch.cat(images), torch.cat(labels)
