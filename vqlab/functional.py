"""Pure tensor helpers shared by the quantizers, models and metrics."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor


def straight_through(z: Tensor, z_q: Tensor) -> Tensor:
    """Value of ``z_q``, gradient of the identity with respect to ``z``.

    Bengio et al., "Estimating or Propagating Gradients Through Stochastic Neurons", 2013,
    arXiv:1308.3432; used as ``z_q := z_e + sg[z_q - z_e]`` in van den Oord et al., 2017,
    arXiv:1711.00937, Sec. 3.2.
    """
    return z + (z_q - z).detach()


def exact_straight_through(z: Tensor, z_q: Tensor) -> Tensor:
    """Value exactly ``z_q`` (bit for bit), gradient of the identity with respect to ``z``.

    ``sg[z_q] + (z - sg[z])``: the second term is exactly 0 in value, so the output equals
    ``z_q`` where ``straight_through``'s ``z + (z_q - z)`` may differ from it in the last bit.
    Used where ``decode(encode(z))`` must reproduce the quantized output exactly (scalar grids).
    """
    return z_q.detach() + (z - z.detach())


def rotation_trick(z: Tensor, z_q: Tensor, eps: float = 1e-6) -> Tensor:
    """Value of ``z_q``; gradient to ``z`` through a fixed rotation and scaling of ``z`` onto it.

    Fifty et al., "Restructuring Vector Quantization with the Rotation Trick", 2024,
    arXiv:2410.06424, Sec. 4.2: ``z~_q = sg[lambda R] z`` with ``lambda = |z_q| / |z|`` and
    ``R = I - 2 r r^T + 2 q^ e^T``, ``e^ = z / |z|``, ``q^ = z_q / |z_q|``,
    ``r = (e^ + q^) / |e^ + q^|``: the rotation taking ``e^`` to ``q^``. The gradient reaching ``z``
    is the upstream one rotated back, ``lambda R^T g = lambda (g - 2 (g . r) r + 2 (g . q^) e^)``;
    ``z_q`` gets none (``sg``). ``eps`` guards zero vectors (norms are clamped to it).

    Computed as one autograd node (``RotationTrick``): the forward keeps three numbers per row and
    the backward is ``lambda g + a z + b z_q`` with per-row ``a``, ``b`` from ``g . z`` and
    ``g . z_q`` (no d x d matrix, ~4 passes over (n, d) instead of ~15 through autograd).

    z, z_q: (..., d) -> (..., d).
    """
    return RotationTrick.apply(z, z_q, eps)


class RotationTrick(torch.autograd.Function):
    """The autograd node of ``rotation_trick`` (see there for the formula)."""

    @staticmethod
    def forward(ctx: Any, z: Tensor, z_q: Tensor, eps: float) -> Tensor:
        z_q = z_q.detach()
        # three row reductions: |z|^2, |z_q|^2, z . z_q; the rest is per-row arithmetic
        z_sq = z.pow(2).sum(-1, keepdim=True)
        q_sq = z_q.pow(2).sum(-1, keepdim=True)
        cross = (z * z_q).sum(-1, keepdim=True)
        z_norm = z_sq.sqrt().clamp_min(eps)
        q_norm = q_sq.sqrt().clamp_min(eps)
        # |e^ + q^|^2 = |e^|^2 + |q^|^2 + 2 e^ . q^
        r_norm_sq = z_sq / z_norm.pow(2) + q_sq / q_norm.pow(2) + 2 * cross / (z_norm * q_norm)
        r_norm = r_norm_sq.clamp_min(0).sqrt().clamp_min(eps)
        ctx.save_for_backward(z, z_q, z_norm, q_norm, r_norm)
        return z_q.clone()

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        z, z_q, z_norm, q_norm, r_norm = ctx.saved_tensors
        scale = q_norm / z_norm  # lambda
        grad_dot_z = (grad * z).sum(-1, keepdim=True) / z_norm  # g . e^
        grad_dot_q = (grad * z_q).sum(-1, keepdim=True) / q_norm  # g . q^
        grad_dot_r = (grad_dot_z + grad_dot_q) / r_norm  # g . r
        # lambda (g - 2 (g.r) (e^ + q^) / |e^ + q^| + 2 (g.q^) e^) = lambda g + a z + b z_q
        a = scale * (2 * grad_dot_q - 2 * grad_dot_r / r_norm) / z_norm
        b = -scale * 2 * grad_dot_r / (r_norm * q_norm)
        return (grad * scale).addcmul_(a, z).addcmul_(b, z_q), None, None


def nearest_code(z: Tensor, codebook: Tensor, block_rows: int = 1 << 22) -> Tensor:
    """Index of the nearest codebook row for every row of ``z``.

    ``argmin_j ||z - e_j||^2 = argmin_j (|e_j|^2 - 2 z . e_j)``: the ``|z|^2`` term is constant per
    row and dropped. Both ``z`` and the codebook are first centred on the codebook mean ``m``
    (distances, hence the argmin, are unchanged): with a large shared offset ``|e_j|^2`` and
    ``2 z . e_j`` are huge and nearly equal, and their float32 difference cancels to noise
    (offset 30, spread 0.1: 16 % wrong indices without centring). One float32 ``addmm`` per block
    of rows, also under bf16/fp16 autocast, with no
    autograd graph; rows are processed in blocks of ``block_rows // K`` so no (N, K) buffer larger
    than ``block_rows`` elements is ever held, and that one buffer is reused by every block (a fresh
    allocation per block costs as much as the ``addmm`` on CPU, in page faults).

    z: (n, d), codebook: (k, d) -> (n,) int64.
    """
    with torch.no_grad(), torch.autocast(z.device.type, enabled=False):
        mean = codebook.float().mean(0)  # (d,)
        codebook = codebook.float() - mean
        codebook_sq = codebook.pow(2).sum(-1)  # (k,)
        step = max(1, block_rows // codebook.shape[0])
        if z.shape[0] <= step:
            return torch.addmm(codebook_sq, z.float() - mean, codebook.t(), alpha=-2.0).argmin(-1)
        indices = torch.empty(z.shape[0], dtype=torch.long, device=z.device)
        scores = codebook.new_empty(step, codebook.shape[0])  # (step, k)
        for start in range(0, z.shape[0], step):
            block = z[start : start + step].float() - mean  # centred per block: no (n, d) copy
            block_scores = scores[: block.shape[0]]
            torch.addmm(codebook_sq, block, codebook.t(), alpha=-2.0, out=block_scores)
            torch.argmin(block_scores, -1, out=indices[start : start + step])
        return indices


def code_histogram(indices: Tensor, codebook_size: int) -> Tensor:
    """Counts of each code in ``indices`` as float32, by ``index_add_``.

    ``torch.bincount`` on CUDA synchronises with the host to size its output; ``index_add_`` into a
    preallocated (K,) buffer does not. The added ones are a stride-0 view, not an (N,) allocation.
    """
    flat = indices.reshape(-1)
    counts = torch.zeros(codebook_size, dtype=torch.float32, device=indices.device)
    ones = torch.ones((), dtype=torch.float32, device=indices.device).expand(flat.shape[0])
    return counts.index_add_(0, flat, ones)


def entropy(probabilities: Tensor, dim: int = -1) -> Tensor:
    """Shannon entropy ``H(p) = -sum_i p_i log p_i`` in nats, with ``0 log 0 = 0``."""
    return -torch.special.xlogy(probabilities, probabilities).sum(dim)


def entropy_finite_gradient(probabilities: Tensor, dim: int = -1) -> Tensor:
    """``H(p)`` in nats, as ``entropy``, with a finite gradient where some ``p_i`` is 0.

    ``-sum_i p_i log max(p_i, tiny)``: same value; where ``p_i`` underflows to 0 the gradient of
    ``xlogy`` (``log p_i + 1 = -inf``) would meet a zero upstream share and give NaN, this one is
    ``-log tiny`` (finite; the limit of ``p log p`` is 0). For losses; metrics use ``entropy``.
    """
    log = probabilities.clamp_min(torch.finfo(probabilities.dtype).tiny).log()
    return -(probabilities * log).sum(dim)


def generalized_jensen_shannon(log_probabilities: Tensor) -> Tensor:
    """Generalized Jensen-Shannon divergence of k categorical distributions, uniform weights.

    ``GJS = sum_i w_i KL(pi_i || m)``, ``m = sum_j w_j pi_j``, ``w_i = 1/k``; equivalently
    ``H(m) - (1/k) sum_i H(pi_i)``. It is 0 when all ``pi_i`` are equal and ``log k`` for k
    one-hot distributions on distinct categories. Nilsson et al., "Indirectly Parameterized
    Concrete Autoencoders", ICML 2024, arXiv:2403.00563, Sec. 4 (GJSD regularizer).

    Computed from log-probabilities, the mixture by ``logsumexp``, rather than as entropies:
    where a probability underflows to 0, ``xlogy``'s gradient is NaN, this form's is finite.

    log_probabilities: (k, n), each row log-normalised -> scalar.
    """
    num_distributions = log_probabilities.shape[0]
    log_mixture = torch.logsumexp(log_probabilities, dim=0) - math.log(num_distributions)  # (n,)
    kl = (log_probabilities.exp() * (log_probabilities - log_mixture)).sum(-1)  # (k,)
    return kl.mean()


def displacement_projection(z: Tensor, z_q: Tensor, eps: float = 1e-8) -> Tensor:
    """Value ``z_q``; gradient to ``z`` projected on the unit displacement ``u = (q - z)/|q - z|``.

    ``dL/dz := (dL/dz_q . u) u`` and no gradient to ``z_q``. This is the estimator that the
    linear VQ-VAE study reproduced by ``vqlab.models.LinearVQ`` calls "rotation"; it is not the
    rotation trick of Fifty et al. 2024 (``rotation_trick``), which rotates the whole gradient.
    Where ``z = q`` (``|q - z| < eps``) the gradient is 0.

    z, z_q: (..., d) -> (..., d).
    """
    direction = F.normalize((z_q - z).detach(), dim=-1, eps=eps)
    along = (z * direction).sum(-1, keepdim=True)
    # value: z_q exactly (the added term is 0); gradient: direction (direction . upstream)
    return z_q.detach() + direction * (along - along.detach())
