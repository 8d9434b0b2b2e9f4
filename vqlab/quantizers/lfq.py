"""Lookup-free quantization: each channel to {-1, +1}, an implied codebook of 2^C sign codes.

Yu et al., "Language Model Beats Diffusion -- Tokenizer is Key to Visual Generation" (MAGVIT-v2),
2023, arXiv:2310.05737, Sec. 3.1: ``q(z_i) = sign(z_i)``, index ``sum_i 2^i [z_i > 0]``, and the
entropy penalty ``L_entropy = E[H(q(z))] - H[E[q(z)]]`` (confident per-sample assignments, a
uniform code distribution over the batch).
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor

from vqlab.errors import ConfigValueError, check_non_negative, check_positive
from vqlab.functional import entropy_finite_gradient, exact_straight_through
from vqlab.quantizers.bit_entropy import CODE_MASS_BLOCK, BlockedCodeMass
from vqlab.quantizers.entropy_regularized import SumOverRanks
from vqlab.quantizers.scalar import ScalarQuantizer
from vqlab.quantizers.vector_quantizer import squared_error


class LFQQuantizer(ScalarQuantizer):
    """``z_q,i = s sign(x_i)`` (``x = prepare(z)``; LFQ: ``x = z``, ``s = 1``), straight-through.

    loss = beta * ||x - sg[z_q]||^2 + entropy_weight * (mean_n H(P(. | x_n)) - H(mean_n P(. | x_n)))
    with the soft assignment ``P(c | x) ∝ exp(-||x - c||^2 / tau)`` over the 2^C codes, which
    factorises per bit: ``p_i = P(bit i on) = sigmoid(4 s x_i / tau)``. The per-sample entropy is
    then ``sum_i H(p_i)`` exactly; the batch's code distribution is a mixture that does not
    factorise, its entropy is computed over all K codes in blocks (``BlockedCodeMass``, no N x K
    tensor; at K = 2^16 about 20 MiB extra for any N), over the batch of every DDP rank. Both
    parts are in ``terms`` (``commitment``, ``entropy_loss``); the entropy is a training-time
    term (eval reports the commitment only).

    Deviation: the defaults (entropy weight 0.1, commitment 0.25, ``tau = 0.01``, i.e. inverse
    temperature 100) are those of the common open implementations; the weights were not checked
    against the paper's appendix here, and Sec. 3.1 gives no temperature.
    """

    code_scale = 1.0

    def __init__(
        self,
        dim: int,
        *,
        codebook_size: int = 512,
        beta: float = 0.25,
        entropy_weight: float = 0.1,
        tau: float = 0.01,
    ) -> None:
        if codebook_size < 2 or codebook_size & (codebook_size - 1):
            raise ConfigValueError("codebook_size", "a power of 2 (2^channels) >= 2", codebook_size)
        check_non_negative("beta", beta)
        check_non_negative("entropy_weight", entropy_weight)
        check_positive("tau", tau)
        super().__init__(dim, channels=codebook_size.bit_length() - 1, codebook_size=codebook_size)
        self.beta = float(beta)
        self.entropy_weight = float(entropy_weight)
        self.tau = float(tau)
        self.register_buffer("powers", 2 ** torch.arange(self.channels), persistent=False)

    def prepare(self, z: Tensor) -> Tensor:
        """What is quantized: ``z`` itself here."""
        return z

    def quantize(self, z: Tensor) -> Tensor:
        x = self.prepare(z)
        signs = torch.where(x > 0, self.code_scale, -self.code_scale)
        return exact_straight_through(x, signs)

    def loss_terms(self, z: Tensor, codes: Tensor) -> dict[str, Tensor]:
        x = self.prepare(z)
        terms = {"commitment": self.beta * squared_error(x, codes.detach())}
        if self.training and self.entropy_weight > 0:
            entropy = bit_assignment_entropy(x.reshape(-1, self.channels), self.bit_logit_scale)
            terms["entropy_loss"] = self.entropy_weight * entropy
        return terms

    @property
    def bit_logit_scale(self) -> float:
        """``4 s / tau``: ``||x - c||^2`` with bit i off minus on is ``4 s x_i``."""
        return 4 * self.code_scale / self.tau

    def indices_of(self, codes: Tensor) -> Tensor:
        return ((codes > 0).long() * self.powers).sum(-1)

    def codes_of(self, indices: Tensor) -> Tensor:
        bits = (indices.unsqueeze(-1) // self.powers % 2).float()  # (..., c)
        return (2 * bits - 1) * self.code_scale

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, beta={self.beta}, entropy_weight={self.entropy_weight}, "
            f"tau={self.tau}"
        )


def bit_assignment_entropy(x: Tensor, logit_scale: float) -> Tensor:
    """``mean_n sum_i H(p_ni) - H(mean_n P(. | x_n))``, ``p_ni = sigmoid(logit_scale x_ni)``.

    x: (n, C) float32 -> scalar, nats. The batch mean is over every DDP rank's rows (the mass and
    the count all-reduced, differentiably), so every rank computes the same codebook entropy.
    """
    logits = logit_scale * x
    log_on, log_off = F.logsigmoid(logits), F.logsigmoid(-logits)
    per_sample = -(log_on.exp() * log_on + log_off.exp() * log_off).sum(1).mean()
    mass = BlockedCodeMass.apply(log_on, log_off, CODE_MASS_BLOCK)  # (k,)
    count = torch.full((1,), float(x.shape[0]), device=x.device)
    if dist.is_available() and dist.is_initialized():
        mass = SumOverRanks.apply(mass)
        dist.all_reduce(count)
    return per_sample - entropy_finite_gradient(mass / count)


class BSQQuantizer(LFQQuantizer):
    """LFQ on the unit sphere: ``x = z / |z|``, codes ``sign(x_i) / sqrt(C)`` (unit norm).

    Zhao et al., "Image and Video Tokenization with Binary Spherical Quantization", 2024,
    arXiv:2406.07548, Sec. 3.2: project to the unit sphere, then binarise with scale
    ``1 / sqrt(C)``; the soft assignment and its entropy terms are LFQ's on ``x``.

    Deviation: the codebook entropy is computed exactly over the 2^C codes (blocked), where the
    paper approximates it per bit (Sec. 3.4) to reach C = 36 and more; K here is materialised
    as a (K,) vector, so C stays at most ~24.
    """

    def __init__(
        self,
        dim: int,
        *,
        codebook_size: int = 512,
        beta: float = 0.25,
        entropy_weight: float = 0.1,
        tau: float = 0.01,
    ) -> None:
        super().__init__(
            dim, codebook_size=codebook_size, beta=beta, entropy_weight=entropy_weight, tau=tau
        )
        self.code_scale = self.channels**-0.5

    def prepare(self, z: Tensor) -> Tensor:
        """``z / |z|`` over the quantized channels."""
        return F.normalize(z, dim=-1)
