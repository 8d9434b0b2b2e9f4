"""The lever quantizers of ``experiments/bench_quantizer.py --suite levers`` and their counterparts.

Each pair is (vqlab quantizer, vector-quantize-pytorch module of the same method), both built for
vectors of size d and K codes per codebook, commitment weight 0.25:

- ste: ``STEQuantizer`` / ``VectorQuantize(learnable_codebook=True, ema_update=False,
  rotation_trick=False)``;
- rotation: ``STEQuantizer(estimator="rotation")`` / the same with ``rotation_trick=True``;
- cosine: ``CosineQuantizer`` (gradient codebook) / ``VectorQuantize(use_cosine_sim=True,
  rotation_trick=False)``, an EMA codebook: its cosine codebook cannot be learnable;
- lowdim: ``ProjectedQuantizer(codebook_dim=8)`` over ``STEQuantizer`` /
  ``VectorQuantize(codebook_dim=8, learnable_codebook=True, ema_update=False,
  rotation_trick=False)``;
- simvq: ``SimVQQuantizer(estimator="rotation")`` / ``SimVQ`` (rotation trick by default);
- grouped: ``GroupedQuantizer(num_groups=2)`` over ``STEQuantizer`` / ``VectorQuantize(heads=2,
  separate_codebook_per_head=True, codebook_dim=d/2)``, learnable, no EMA, no rotation;
- residual: ``ResidualQuantizer(num_stages=4)`` over ``STEQuantizer`` /
  ``ResidualVQ(num_quantizers=4, learnable_codebook=True, ema_update=False, rotation_trick=False)``;
- entropy: ``EntropyRegularizedQuantizer`` over ``STEQuantizer`` / none: its peer is vqlab's
  ``ste``, to show the overhead of the N x K soft assignment;
- fsq: ``FSQQuantizer(levels=[8] * n)`` / ``FSQ(levels=[8] * n, dim=d)``, ``8^n`` the power of 8
  nearest K (512: [8, 8, 8]), both projecting d -> n -> d;
- lfq: ``LFQQuantizer(codebook_size=K)`` / ``LFQ(dim=d, codebook_size=K, entropy_loss_weight=0.1,
  commitment_loss_weight=0.25)`` (K a power of 2);
- affine: ``AffineQuantizer(sync_nu=0.5)`` / ``VectorQuantize(affine_param=True,
  sync_update_v=0.5)``, learnable, no EMA, no rotation;
- orthogonal: ``OrthogonalRegularizedQuantizer(weight=10)`` over ``STEQuantizer`` /
  ``VectorQuantize(orthogonal_reg_weight=10)``, learnable, no EMA, no rotation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import torch
from torch import Tensor, nn

from vqlab import quantizers as vq

LEVERS = (
    "ste", "rotation", "cosine", "lowdim", "simvq", "grouped", "residual", "entropy",
    "fsq", "lfq", "affine", "orthogonal",
)  # fmt: skip


def fsq_levels(codebook_size: int) -> list[int]:
    """``[8] * n`` with ``8^n`` the power of 8 nearest ``codebook_size`` (at least one level)."""
    return [8] * max(1, round(math.log(codebook_size, 8)))


def vqlab_quantizer(lever: str, codebook_size: int, dim: int) -> nn.Module:
    """vqlab's quantizer for ``lever``."""
    ste = partial(vq.STEQuantizer, codebook_size, beta=0.25)
    builders: dict[str, Callable[[], nn.Module]] = {
        "ste": lambda: ste(dim=dim),
        "rotation": lambda: ste(dim=dim, estimator="rotation"),
        "cosine": lambda: vq.CosineQuantizer(codebook_size, dim),
        "lowdim": lambda: vq.ProjectedQuantizer(dim, codebook_dim=8, quantizer=ste),
        "simvq": lambda: vq.SimVQQuantizer(codebook_size, dim, estimator="rotation"),
        "grouped": lambda: vq.GroupedQuantizer(dim, num_groups=2, quantizer=ste),
        "residual": lambda: vq.ResidualQuantizer(dim, num_stages=4, quantizer=ste),
        "entropy": lambda: vq.EntropyRegularizedQuantizer(dim, ste, weight=0.1),
        "fsq": lambda: vq.FSQQuantizer(dim, levels=fsq_levels(codebook_size)),
        "lfq": lambda: vq.LFQQuantizer(dim, codebook_size=codebook_size),
        "affine": lambda: vq.AffineQuantizer(codebook_size, dim, sync_nu=0.5),
        "orthogonal": lambda: vq.OrthogonalRegularizedQuantizer(dim, quantizer=ste, weight=10.0),
    }
    return builders[lever]()


def peer_quantizer(lever: str, codebook_size: int, dim: int) -> nn.Module | None:
    """vector-quantize-pytorch's module for ``lever`` (None where it has none)."""
    from vector_quantize_pytorch import FSQ, LFQ, ResidualVQ, SimVQ, VectorQuantize

    gradient = {"learnable_codebook": True, "ema_update": False, "commitment_weight": 0.25}
    common = {"dim": dim, "codebook_size": codebook_size}
    builders: dict[str, Callable[[], nn.Module]] = {
        "ste": lambda: VectorQuantize(**common, **gradient, rotation_trick=False),
        "rotation": lambda: VectorQuantize(**common, **gradient, rotation_trick=True),
        "cosine": lambda: VectorQuantize(
            **common, use_cosine_sim=True, rotation_trick=False, commitment_weight=0.25
        ),
        "lowdim": lambda: VectorQuantize(
            **common, **gradient, codebook_dim=8, rotation_trick=False
        ),
        "simvq": lambda: SimVQ(dim=dim, codebook_size=codebook_size),
        "grouped": lambda: VectorQuantize(
            **common,
            **gradient,
            heads=2,
            separate_codebook_per_head=True,
            codebook_dim=dim // 2,
            rotation_trick=False,
        ),
        "residual": lambda: ResidualVQ(
            **common, num_quantizers=4, **gradient, rotation_trick=False
        ),
        "fsq": lambda: FSQ(levels=fsq_levels(codebook_size), dim=dim),
        "lfq": lambda: LFQ(**common, entropy_loss_weight=0.1, commitment_loss_weight=0.25),
        "affine": lambda: VectorQuantize(
            **common, **gradient, affine_param=True, sync_update_v=0.5, rotation_trick=False
        ),
        "orthogonal": lambda: VectorQuantize(
            **common, **gradient, orthogonal_reg_weight=10.0, rotation_trick=False
        ),
    }
    return builders[lever]() if lever in builders else None


def vqlab_loss(quantizer: nn.Module, z: Tensor) -> Tensor:
    """A training step's scalar: the quantizer's loss + a dummy downstream term on its output."""
    out = quantizer(z)
    return out.loss + out.quantized.float().square().mean()


def peer_loss(quantizer: nn.Module, z: Tensor) -> Tensor:
    """The same for vector-quantize-pytorch (input (1, N, d); losses summed over stages; its
    ``FSQ`` returns no loss)."""
    result = quantizer(z.unsqueeze(0))
    quantized = result[0]
    loss = result[2].sum() if len(result) > 2 else quantized.new_zeros(())
    return loss + quantized.float().square().mean()


def make_lever_step(
    lever: str, side: str, codebook_size: int, dim: int, num_vectors: int, device: str
) -> Callable[[], None]:
    """Forward + backward of ``side`` (``vqlab`` or ``vq-pytorch``) on fixed random inputs."""
    build, loss_of = (
        (vqlab_quantizer, vqlab_loss) if side == "vqlab" else (peer_quantizer, peer_loss)
    )
    quantizer = build(lever, codebook_size, dim).to(device).train()
    z = torch.randn(num_vectors, dim, device=device, requires_grad=True)

    def step() -> None:
        loss_of(quantizer, z).backward()
        z.grad = None
        quantizer.zero_grad(set_to_none=True)

    return step
