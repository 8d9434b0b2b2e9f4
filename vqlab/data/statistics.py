"""Statistics of a dataset's inputs that models and callbacks read from the datamodule."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

NUM_INTENSITIES = 256


def intensity_entropy(batches: Iterable[Tensor]) -> float:
    """Entropy in nats of the pixel-intensity histogram of uint8 images.

    ``H = -sum_v p_v log p_v``, ``p_v`` the fraction of all pixel values (every channel of every
    image) equal to ``v`` in 0..255; at most ``log 256 ~ 5.55``. ``batches`` yields uint8 tensors
    of any shape; the histogram is accumulated over all of them.
    """
    counts = torch.zeros(NUM_INTENSITIES, dtype=torch.float64)
    for batch in batches:
        counts += torch.bincount(batch.flatten().cpu().long(), minlength=NUM_INTENSITIES)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * p.log()).sum())
