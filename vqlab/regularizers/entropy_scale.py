"""HC-VQ's entropy scale ``s``: how far the latents' entropy is from the input's.

Volkov, "Homology-constrained vector quantization entropy regularizer", 2022, arXiv:2211.14363:
the homology loss is weighted by the entropy of the quantized latents per mini-batch against the
entropy of the input. Its reference code (docs/hcvq.md, "Entropy scale") accumulates, on every
training step t,

    H_q(t), H_x(t)          (a step with H_q = 0 is not accumulated)

and every ``period`` training steps sets, without gradient, and resets the accumulators:

    s = | D_b - mean_t H_q(t) / mean_t H_x(t) |,     D_b = ``target_ratio`` (1.0)

``s`` starts at 0, so the term is off for the first ``period - 1`` steps. Two definitions:

- ``reference`` (the reference code's, for reproduction), with
  ``H(v) = -sum_i p_i log(p_i + 1e-8)``, ``p = |v / sum v|``: H_q over the coordinate-sums of
  the quantized vectors (one value per latent position), H_x over the input in [0, 1] summed
  along its last axis (B x C x H values).
- ``usage`` (what the paper's words and its Jukebox citation suggest): H_q = entropy of the batch's
  code-usage histogram, H_x = entropy of the batch's 256-level pixel-intensity histogram (the
  statistic of the image datamodules' ``input_entropy()``, here per batch).

Inputs are vqlab images in ``input_range`` ([-1, 1] by default, the datamodule's ``value_range``)
and are mapped to [0, 1] first (the reference reads [0, 1]).
Deviation: a period in which every H_q was 0 keeps the previous ``s`` (the reference: 0 / 0).
Deviation: ``usage`` measures H_x per batch, like the reference's H_x, not once per dataset, so the
scale does not depend on how a datamodule exposes its statistics.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pad_sequence

from vqlab.distributed import all_reduce_sum
from vqlab.errors import ConfigValueError, check_non_negative, check_positive
from vqlab.functional import code_histogram, entropy

DEFINITIONS = ("reference", "usage")
NUM_INTENSITIES = 256
REFERENCE_LOG_EPSILON = 1e-8


def reference_entropy(values: Tensor) -> Tensor:
    """The reference code's entropy of ``values`` summed along the last axis -> scalar.

    ``s = values.sum(-1)`` (all leading positions), ``p = |s / sum s|``,
    ``H = -sum p log(p + 1e-8)``.
    """
    return reference_entropies(values.sum(-1).flatten().unsqueeze(0))[0]


def reference_entropies(sums: Tensor) -> Tensor:
    """:func:`reference_entropy` of each row of ``sums`` (r, n), already summed -> (r,).

    Trailing zeros do not change a row's entropy (they add 0 to ``sum s``, and ``0 log(1e-8)``
    is 0), so vectors of different lengths are computed together, zero-padded to one (r, n).
    """
    p = sums.div(sums.sum(-1, keepdim=True)).abs_()
    return (p * p.add(REFERENCE_LOG_EPSILON).log_()).sum(-1).neg_()


def intensity_entropy(images: Tensor) -> Tensor:
    """Entropy (nats) of the 256-level histogram of ``images`` in [0, 1] (all values) -> scalar."""
    levels = (images * (NUM_INTENSITIES - 1)).round().clamp(0, NUM_INTENSITIES - 1).long()
    counts = code_histogram(levels, NUM_INTENSITIES)
    return entropy(counts / counts.sum())


class EntropyScale(nn.Module):
    """Accumulates ``H_q`` and ``H_x`` over training steps; recomputes ``s`` every ``period`` steps.

    The accumulators and ``scale`` are buffers and the step counter is extra state, so all of it is
    in the model's ``state_dict`` (and the Lightning checkpoint): a resumed run continues exactly.

    Deviation: the reference trains on one GPU. Under DDP each rank accumulates its own batches and
    the sums are added over ranks at each recomputation, so ``s`` is that of the global batch and
    the same on every rank. A DDP checkpoint written inside a period holds rank 0's partial sums
    only, so a DDP run resumed mid-period recomputes its next ``s`` from rank 0's share of the
    steps before the cut (exact from a checkpoint on a period boundary, and on one process).
    """

    entropy_q_sum: Tensor
    entropy_x_sum: Tensor
    accumulated: Tensor
    scale: Tensor

    def __init__(
        self, definition: str = "reference", period: int = 200, target_ratio: float = 1.0
    ) -> None:
        super().__init__()
        if definition not in DEFINITIONS:
            raise ConfigValueError("entropy", f"one of {list(DEFINITIONS)}", definition)
        check_positive("period", period)
        check_non_negative("target_ratio", target_ratio)
        self.definition = definition
        self.period = int(period)
        self.target_ratio = float(target_ratio)
        self.steps = 0  # training steps seen; a Python int, so the schedule needs no host sync
        self.register_buffer("entropy_q_sum", torch.zeros((), dtype=torch.float64))
        self.register_buffer("entropy_x_sum", torch.zeros((), dtype=torch.float64))
        self.register_buffer("accumulated", torch.zeros((), dtype=torch.float64))
        self.register_buffer("scale", torch.zeros(()))
        # the range of the inputs x, mapped to [0, 1] for H_x; the model sets it from the
        # datamodule's ``value_range`` (vqlab's default [-1, 1])
        self.input_range: tuple[float, float] = (-1.0, 1.0)

    def entropies(self, x: Tensor, z_q: Tensor, counts: Tensor) -> tuple[Tensor, Tensor]:
        """``(H_q, H_x)`` of one batch: x (b, ...) in ``input_range``, z_q (..., d), counts (K,).

        ``reference`` reads z_q only through its coordinate sums ``z_q.sum(-1)``, so z_q may be
        given already summed, as (..., 1).
        """
        entropy_q, entropy_x = self._entropies(x, z_q, counts).unbind()
        return entropy_q, entropy_x

    def _entropies(self, x: Tensor, z_q: Tensor, counts: Tensor) -> Tensor:
        """:meth:`entropies` as one (2,) tensor ``[H_q, H_x]`` (the per-step hot path)."""
        x = x.detach().float()
        low, high = self.input_range
        if self.definition == "reference":
            z_q = z_q.detach().float()
            q_sums = z_q.reshape(-1) if z_q.shape[-1] == 1 else z_q.sum(-1).flatten()
            # The row sums of (x - low) / (high - low), times (high - low): row sum of x minus
            # width * low. One pass over the batch instead of three; the positive factor cancels in
            # p (exactly for [-1, 1] and [0, 1], else up to float32 rounding). Both entropies then
            # run as the two rows of one zero-padded tensor.
            x_sums = x.sum(-1).flatten().sub_(x.shape[-1] * low)
            return reference_entropies(pad_sequence([q_sums, x_sums], batch_first=True))
        entropy_q = entropy(counts / counts.sum().clamp_min(1.0))
        return torch.stack([entropy_q, intensity_entropy((x - low) / (high - low))])

    @torch.no_grad()
    def update(self, x: Tensor, z_q: Tensor, counts: Tensor) -> Tensor:
        """Accumulate one training step; every ``period``-th step recompute ``s``. Returns ``s``."""
        entropy_q, entropy_x = self._entropies(x, z_q, counts).unbind()
        keep = entropy_q != 0
        # A skipped step (H_q = 0) adds 0 to the H_q sum anyway: only H_x needs the mask.
        self.entropy_q_sum.add_(entropy_q)  # float32 into float64: exact, as .double() first
        self.entropy_x_sum.add_(torch.where(keep, entropy_x, 0.0))
        self.accumulated.add_(keep)
        self.steps += 1
        if self.steps % self.period == 0:
            # mean(H_q) / mean(H_x) = sum(H_q) / sum(H_x): both sums run over the same steps;
            # under DDP over every rank's steps (one all-reduce per period): the same s everywhere
            sums = torch.stack([self.entropy_q_sum, self.entropy_x_sum, self.accumulated])
            entropy_q_sum, entropy_x_sum, accumulated = all_reduce_sum(sums).unbind()
            ratio = entropy_q_sum / entropy_x_sum.clamp_min(torch.finfo().tiny)
            scale = (self.target_ratio - ratio).abs().to(self.scale)
            self.scale.copy_(torch.where(accumulated > 0, scale, self.scale))
            for accumulator in (self.entropy_q_sum, self.entropy_x_sum, self.accumulated):
                accumulator.zero_()
        return self.scale

    def get_extra_state(self) -> dict[str, Any]:
        return {"steps": self.steps}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.steps = int(state["steps"])

    def extra_repr(self) -> str:
        return f"definition={self.definition}, period={self.period}, D_b={self.target_ratio}"
