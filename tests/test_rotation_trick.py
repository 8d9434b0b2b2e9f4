"""The rotation-trick gradient estimator against its formula on hand examples."""

from __future__ import annotations

import torch

from vqlab.functional import rotation_trick


def rotation_matrix(e: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``lambda R`` of Fifty et al. 2024, Sec. 4.2, built as a d x d matrix (the brute force)."""
    e_hat, q_hat = e / e.norm(), q / q.norm()
    r = (e_hat + q_hat) / (e_hat + q_hat).norm()
    eye = torch.eye(e.shape[0], dtype=e.dtype)
    rotation = eye - 2 * torch.outer(r, r) + 2 * torch.outer(q_hat, e_hat)
    return q.norm() / e.norm() * rotation


def test_rotation_trick_value_is_the_code_and_gradient_is_the_rotated_upstream() -> None:
    z = torch.tensor([[3.0, 0.0], [1.0, 2.0]], dtype=torch.float64, requires_grad=True)
    z_q = torch.tensor([[0.0, 1.0], [-2.0, 0.5]], dtype=torch.float64)
    upstream = torch.tensor([[1.0, 2.0], [0.5, -1.0]], dtype=torch.float64)
    out = rotation_trick(z, z_q)
    torch.testing.assert_close(out, z_q)
    out.backward(upstream)
    for row in range(2):
        matrix = rotation_matrix(z[row].detach(), z_q[row])
        torch.testing.assert_close(z.grad[row], matrix.t() @ upstream[row])
    # the first example: e = (3, 0) onto q = (0, 1) is a quarter turn scaled by 1/3
    torch.testing.assert_close(z.grad[0], torch.tensor([2.0, -1.0], dtype=torch.float64) / 3)


def test_rotation_trick_gradient_differs_from_straight_through() -> None:
    z = torch.tensor([[1.0, 0.0, 0.0]], requires_grad=True)
    rotation_trick(z, torch.tensor([[0.0, 2.0, 0.0]])).sum().backward()
    assert not torch.allclose(z.grad, torch.ones_like(z))
