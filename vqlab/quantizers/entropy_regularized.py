"""A codebook quantizer plus a batch-entropy regularizer on its soft code assignment.

The KL-to-uniform / negative-entropy lever against collapse: the soft assignment of the batch
``q = mean_n softmax(-||z_n - e_j||^2 / tau)`` is pushed towards the uniform distribution over the
K codes. As the code-usage entropy term of Jukebox (Dhariwal et al. 2020, arXiv:2005.00341,
Sec. 2.3) and the "entropy loss" of the visual-tokenizer benchmarks (e.g. MaskGIT's tokenizer,
Chang et al. 2022, arXiv:2202.04200; weight 0.1 in xyfJASON/visual-tokenizer-pytorch).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

from vqlab.distributed import all_reduce_sum, is_distributed
from vqlab.errors import ConfigValueError, check_positive
from vqlab.functional import entropy_finite_gradient
from vqlab.quantizers.composite import QuantizerFactory
from vqlab.quantizers.regularized import RegularizedQuantizer
from vqlab.quantizers.vector_quantizer import VectorQuantizer

TARGETS = ("kl_uniform", "neg_entropy")


# rows x codes per block of the soft assignment, as in the nearest-code search
SOFT_ASSIGNMENT_BLOCK = 1 << 22


def soft_assignment_scores(z: Tensor, codebook: Tensor, codebook_sq: Tensor, tau: float) -> Tensor:
    """``(2 z . e_j - |e_j|^2) / tau``: ``-||z - e_j||^2 / tau`` up to a per-row constant."""
    return torch.addmm(codebook_sq, z, codebook.t(), beta=-1.0, alpha=2.0).div_(tau)  # (n, k)


class BlockedSoftAssignment(torch.autograd.Function):
    """``sum_n softmax_j(-||z_n - e_j||^2 / tau)`` (K,), in blocks of rows: no (N, K) tensor.

    ``-||z - e_j||^2 / tau = (2 z . e_j - |e_j|^2) / tau + const(z)``, and the softmax ignores
    the constant. Backward, with ``g = dL/dq`` and ``p_n`` recomputed block by block:
    ``a_n = p_n * (g - p_n . g)`` (dL/ds_n), ``dL/dz_n = (2 / tau) a_n E``,
    ``dL/dE = (2 / tau) (a^T Z - diag(sum_n a_n) E)``. Blocks hold ``block`` scores at most,
    as the nearest-code search does, so memory stays O(block + K d) for any N.
    Forward and backward run with autocast off: the scores are float32 under bf16/fp16 autocast
    (in bf16 a mean offset of 3 put the gradient off by ~20 %).
    ``apply(z (n, d), codebook (k, d), tau, block)``.
    """

    @staticmethod
    @torch.autocast("cpu", enabled=False)
    @torch.autocast("cuda", enabled=False)
    def forward(ctx: Any, z: Tensor, codebook: Tensor, tau: float, block: int) -> Tensor:
        ctx.save_for_backward(z, codebook)
        ctx.tau, ctx.block = tau, block
        codebook_sq = codebook.pow(2).sum(-1)  # (k,)
        step = max(1, block // codebook.shape[0])
        total = z.new_zeros(codebook.shape[0])
        for start in range(0, z.shape[0], step):
            scores = soft_assignment_scores(z[start : start + step], codebook, codebook_sq, tau)
            total += scores.softmax(-1).sum(0)
        return total

    @staticmethod
    @torch.autocast("cpu", enabled=False)
    @torch.autocast("cuda", enabled=False)
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None]:
        z, codebook = ctx.saved_tensors
        tau, needs_codebook = ctx.tau, ctx.needs_input_grad[1]  # False for an EMA buffer
        codebook_sq = codebook.pow(2).sum(-1)
        step = max(1, ctx.block // codebook.shape[0])
        grad_z = torch.empty_like(z)
        grad_codebook = torch.zeros_like(codebook)
        weight_total = z.new_zeros(codebook.shape[0])
        for start in range(0, z.shape[0], step):
            block = z[start : start + step]
            p = soft_assignment_scores(block, codebook, codebook_sq, tau).softmax(-1)
            a = p.mul_(grad - (p @ grad).unsqueeze(1))  # (rows, k), in place of p
            torch.mm(a, codebook, out=grad_z[start : start + step])
            if needs_codebook:
                grad_codebook.addmm_(a.t(), block)
                weight_total += a.sum(0)
        scale = 2.0 / tau
        if not needs_codebook:
            return grad_z.mul_(scale), None, None, None
        grad_codebook.sub_(weight_total.unsqueeze(1) * codebook)
        return grad_z.mul_(scale), grad_codebook.mul_(scale), None, None


class SumOverRanks(torch.autograd.Function):
    """``sum_r x_r`` on every rank; backward: the upstream gradients summed over ranks.

    Every rank computes the same loss from the sum, so the gradient of the global loss with
    respect to rank r's ``x_r`` is the sum of the ranks' upstream gradients; DDP's averaging of
    parameter gradients then yields the gradient of the one global loss.
    """

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: Tensor) -> Tensor:
        total = x.clone()
        dist.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


def mean_soft_assignment(
    z_e: Tensor, codebook: Tensor, tau: float, sample_rows: int | None = None
) -> Tensor:
    """``q = (1 / N) sum_n softmax_j(-||z_n - e_j||^2 / tau)`` over the N vectors of this batch on
    every rank, (k,) float32.

    The numerator sum and N are all-reduced with the differentiable all-reduce, so every rank
    computes the same ``q`` and, after DDP averages the gradients, the gradient of the global loss.
    ``sample_rows``: evaluate the softmax on that many rows drawn uniformly with replacement from
    this rank's N (when N is larger), from torch's generator: an unbiased estimate of ``q`` at
    ``sample_rows / N`` of the cost (``tests/test_entropy_regularizer_numerics.py``).
    """
    flat = z_e.reshape(-1, codebook.shape[1]).float()
    if sample_rows is not None and flat.shape[0] > sample_rows:
        flat = flat[torch.randint(flat.shape[0], (sample_rows,), device=flat.device)]
    total = BlockedSoftAssignment.apply(flat, codebook.float(), tau, SOFT_ASSIGNMENT_BLOCK)  # (k,)
    count = torch.full((1,), float(flat.shape[0]), device=flat.device)
    if is_distributed():
        total = SumOverRanks.apply(total)
        all_reduce_sum(count)
    return total / count


def soft_assignment_entropy_loss(
    z_e: Tensor, codebook: Tensor, tau: float, target: str, sample_rows: int | None = None
) -> Tensor:
    """``KL(q || U(K)) = log K - H(q)`` (``kl_uniform``) or ``-H(q)`` (``neg_entropy``), nats,
    of the batch's mean soft assignment ``q`` (``mean_soft_assignment``).

    z_e: (n, d), codebook: (k, d) -> scalar, float32.
    """
    q = mean_soft_assignment(z_e, codebook, tau, sample_rows)
    # a code's share can underflow to 0 (far codes, small tau): keep its gradient finite
    negative_entropy = -entropy_finite_gradient(q)
    if target == "kl_uniform":
        return negative_entropy + math.log(codebook.shape[0])
    return negative_entropy


class EntropyRegularizedQuantizer(RegularizedQuantizer):
    """``Q(z_e)``, ``loss += weight * KL(q || U(K))`` (or ``-weight * H(q)``); see the module doc.

    ``quantizer`` is a partial of any ``VectorQuantizer``, built with ``dim``; its ``codebook`` rows
    and the raw ``z_e`` give the distances (for ``CosineQuantizer`` children these are the
    unnormalised vectors). The weighted term is in ``terms["entropy_loss"]``, logged as
    ``codebook/entropy_loss``. The two targets differ by the constant ``log K``: same gradient,
    ``kl_uniform`` reads 0 at a uniform assignment.
    """

    term_name = "entropy_loss"

    def __init__(
        self,
        dim: int,
        quantizer: QuantizerFactory,
        weight: float = 0.1,
        tau: float = 1.0,
        target: str = "kl_uniform",
        sample_rows: int | None = None,
    ) -> None:
        check_positive("tau", tau)
        if sample_rows is not None:
            check_positive("sample_rows", sample_rows)
        if target not in TARGETS:
            raise ConfigValueError("target", f"one of {', '.join(TARGETS)}", target)
        super().__init__(dim, quantizer, weight)
        self.tau = float(tau)
        self.target = target
        self.sample_rows = sample_rows

    def penalty(self, z_e: Tensor, child: VectorQuantizer) -> Tensor:
        return soft_assignment_entropy_loss(
            z_e, child.codebook, self.tau, self.target, self.sample_rows
        )

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, tau={self.tau}, target={self.target}"
