"""A linear encoder whose weight stays on the Stiefel manifold, and its tied transpose decoder.

Stiefel manifold ``St(D, m) = {W in R^(D x m) : W^T W = I_m}`` (orthonormal columns). With the
metric inherited from R^(D x m) (the embedded metric), the Riemannian gradient of a function with
Euclidean gradient ``G`` is the projection of ``G`` on the tangent space at ``W``,

    grad_R = G - W sym(W^T G),    sym(A) = (A + A^T) / 2,

and a step ``W - lr grad_R`` is pulled back onto the manifold by the polar retraction
``R(Y) = U V^T`` for ``Y = U S V^T`` (the nearest point of St(D, m) to ``Y`` in Frobenius norm).
Absil, Mahony & Sepulchre, "Optimization Algorithms on Matrix Manifolds", 2008, Sec. 3.6.1
(Eq. 3.35, the projection) and Example 4.1.3 (the polar retraction).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vqlab.errors import ConfigValueError, check_positive


def tangent_projection(w: Tensor, g: Tensor) -> Tensor:
    """``G - W sym(W^T G)``: the Riemannian gradient at ``w`` (D, m) of Euclidean gradient ``g``."""
    wtg = w.t() @ g  # (m, m)
    return g - w @ (0.5 * (wtg + wtg.t()))


def polar_retraction(y: Tensor) -> Tensor:
    """``U V^T`` of the thin SVD ``y = U S V^T``: the closest matrix with orthonormal columns."""
    u, _, vh = torch.linalg.svd(y, full_matrices=False)
    return u @ vh


def principal_directions(x: Tensor, count: int) -> Tensor:
    """The ``count`` leading eigenvectors (D, count) of the biased covariance of ``x`` (n, D).

    ``C = (x - mean)^T (x - mean) / n``, in float64; columns ordered by decreasing eigenvalue.
    """
    x = x.double()
    centered = x - x.mean(0)
    covariance = centered.t() @ centered / x.shape[0]
    _, vectors = torch.linalg.eigh(covariance)  # ascending eigenvalues
    return vectors.flip(-1)[:, :count]


class StiefelLinearEncoder(nn.Module):
    """``z = x W``: R^D -> R^m with ``W`` (D, m), ``W^T W = I`` (orthonormal columns).

    The constraint is kept by the training loop, not by a reparametrisation: after an optimizer
    step on the Riemannian gradient (``project_gradient_``), ``retract_`` maps ``W`` back onto
    the manifold. ``decode(z) = z W^T`` is the tied decoder (``TiedLinearDecoder`` wraps it).
    Initialised at a random point of the manifold (QR of a Gaussian matrix, ``torch`` RNG).

    x: (b, D) -> z: (b, m).
    """

    def __init__(self, input_dim: int, latent_dim: int) -> None:
        super().__init__()
        check_positive("input_dim", input_dim)
        check_positive("latent_dim", latent_dim)
        if latent_dim > input_dim:
            raise ConfigValueError("latent_dim", f"<= input_dim={input_dim}", latent_dim)
        self.input_dim = int(input_dim)
        self.latent_dim = int(latent_dim)
        basis, _ = torch.linalg.qr(torch.randn(input_dim, latent_dim))
        self.weight = nn.Parameter(basis)

    def forward(self, x: Tensor) -> Tensor:
        return x @ self.weight

    def decode(self, z: Tensor) -> Tensor:
        """``x_hat = z W^T``. z: (b, m) -> (b, D)."""
        return z @ self.weight.t()

    @torch.no_grad()
    def project_gradient_(self) -> None:
        """Replace ``weight.grad`` by its Riemannian gradient (tangent projection), in place."""
        if self.weight.grad is not None:
            self.weight.grad.copy_(tangent_projection(self.weight, self.weight.grad))

    @torch.no_grad()
    def retract_(self) -> None:
        """Map ``weight`` back onto the Stiefel manifold (polar retraction), in place."""
        self.weight.copy_(polar_retraction(self.weight))

    @torch.no_grad()
    def set_weight(self, weight: Tensor) -> None:
        """Set ``W`` to ``weight`` (D, m), retracted onto the manifold (e.g. PCA directions)."""
        if weight.shape != self.weight.shape:
            raise ValueError(
                f"set_weight needs shape {tuple(self.weight.shape)}, got {tuple(weight.shape)}"
            )
        self.weight.copy_(polar_retraction(weight.to(self.weight)))

    def orthonormality_error(self) -> Tensor:
        """``max |W^T W - I|``: 0 on the manifold."""
        gram = self.weight.detach().t() @ self.weight.detach()
        return (gram - torch.eye(self.latent_dim, device=gram.device)).abs().max()

    def extra_repr(self) -> str:
        return f"input_dim={self.input_dim}, latent_dim={self.latent_dim}"


class TiedLinearDecoder(nn.Module):
    """``x_hat = z W^T`` with the encoder's ``W``: no parameters of its own."""

    def __init__(self, encoder: StiefelLinearEncoder) -> None:
        super().__init__()
        # a plain attribute, not a submodule: the weight is saved once, under the encoder
        self.__dict__["encoder"] = encoder

    def forward(self, z: Tensor) -> Tensor:
        return self.encoder.decode(z)
