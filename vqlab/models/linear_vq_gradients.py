"""The linear VQ-VAE's gradients by hand.

Model (one batch of B rows): ``Z = X W`` with ``W`` (D, m), ``W^T W = I``; ``k_i = argmin_j
|z_i - e_j|^2``, ``Q = E[k]``; ``X_hat = Z_q W^T`` where ``Z_q`` has the value ``Q``. Loss, every
term a per-sample sum over coordinates averaged over the batch:

    L = (1/B) sum_i |x_i - W q_i|^2 + (alpha/B) sum_i |sg[z_i] - q_i|^2
        + (beta/B) sum_i |z_i - sg[q_i]|^2

van den Oord et al., "Neural Discrete Representation Learning", 2017, arXiv:1711.00937, Eq. 3,
with ``alpha`` weighting the codebook term.
"""

from __future__ import annotations

import torch
from torch import Tensor


@torch.no_grad()
def straight_through_gradients(
    x: Tensor, w: Tensor, codebook: Tensor, indices: Tensor, alpha: float, beta: float
) -> tuple[Tensor, Tensor]:
    """Euclidean gradients ``(dL/dW, dL/dE)`` of the loss above under the straight-through
    estimator (``dZ_q/dZ = I``), derived by hand.

    With ``R = X - Q W^T`` (B, D) and ``n_j`` the number of rows assigned to code ``j``:

    - decoder path (``X_hat = Z_q W^T`` in ``W``):         ``-(2/B) R^T Q``
    - encoder path (``dL/dZ_q = -(2/B) R W``, copied to ``Z`` by the STE, ``Z = X W``):
      ``-(2/B) X^T R W``
    - commitment (``Z = X W``):                            ``(2 beta/B) X^T (Z - Q)``

    so ``dL/dW = (2/B) (-R^T Q - X^T R W + beta X^T (Z - Q))``; the reconstruction does not reach
    ``E`` under the STE (its gradient goes to ``Z``), so only the codebook term does:
    ``dL/de_j = (2 alpha/B) sum_{i: k_i = j} (e_j - z_i) = (2 alpha/B) (n_j e_j - S_j)``,
    ``S = onehot(k)^T Z``. The Riemannian gradient of ``W`` is the tangent projection of
    ``dL/dW`` (``vqlab.nets.stiefel.tangent_projection``), as for the autograd gradient.

    x: (B, D), w: (D, m), codebook: (K, m), indices: (B,) -> ((D, m), (K, m)).
    """
    with torch.autocast(x.device.type, enabled=False):  # the dtype of w, also under autocast
        return _straight_through_gradients(x.to(w.dtype), w, codebook, indices, alpha, beta)


def _straight_through_gradients(
    x: Tensor, w: Tensor, codebook: Tensor, indices: Tensor, alpha: float, beta: float
) -> tuple[Tensor, Tensor]:
    batch = x.shape[0]
    z = x @ w  # (B, m)
    q = codebook[indices]  # (B, m)
    residual = x - q @ w.t()  # (B, D)
    grad_w = (2.0 / batch) * (-residual.t() @ q - x.t() @ (residual @ w) + beta * x.t() @ (z - q))
    counts = torch.zeros(codebook.shape[0], dtype=x.dtype, device=x.device)
    counts.index_add_(0, indices, torch.ones_like(indices, dtype=x.dtype))
    sums = torch.zeros_like(codebook).index_add_(0, indices, z)  # (K, m)
    grad_codebook = (2.0 * alpha / batch) * (counts[:, None] * codebook - sums)
    return grad_w, grad_codebook
