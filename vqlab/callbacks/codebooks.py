"""Where the codebook callbacks find their quantizers: every leaf ``VectorQuantizer`` of a model."""

from __future__ import annotations

from torch import nn

from vqlab.errors import ConfigCombinationError
from vqlab.quantizers import GrowingQuantizer, VectorQuantizer


def codebook_quantizers(model: nn.Module) -> dict[str, VectorQuantizer]:
    """The model's ``VectorQuantizer`` submodules that hold no other one, by module path.

    A plain VQ-VAE has one (``quantizer``); a two-level model or a composite quantizer (residual
    stages, groups) has one per codebook, each seeing its own inputs: k-means init and respawn
    treat each codebook on its own.
    """
    return {
        name: module
        for name, module in model.named_modules()
        if isinstance(module, VectorQuantizer)
        and not any(isinstance(inner, VectorQuantizer) for inner in list(module.modules())[1:])
    }


def metric_prefix(name: str, names: list[str]) -> str:
    """``codebook/`` for a model's only codebook, ``codebook/<path>/`` when there are several,
    the path without a trailing ``_quantizer`` (``top_quantizer`` -> ``codebook/top/``)."""
    if len(names) == 1:
        return "codebook/"
    return f"codebook/{name.removesuffix('_quantizer').replace('.', '/')}/"


def require_codebooks(
    quantizers: dict[str, VectorQuantizer], callback: str, required: bool
) -> None:
    """Refuse a codebook callback that was asked for on a model without a codebook."""
    if required and not quantizers:
        raise ConfigCombinationError(
            f"callbacks.{callback} needs a model with a codebook quantizer (model=vqvae_ema, "
            f"vqvae_ste, hcvq, ...): drop it (callbacks=plain) or choose such a model"
        )


def refuse_growing(model: nn.Module, callback: str) -> None:
    """Refuse a callback that watches codebooks through forward hooks on a model with a
    ``GrowingQuantizer``: its search bypasses the child's forward (the hooks would never fire), and
    filling codes would wake the dormant ones that growth is saving."""
    if any(isinstance(module, GrowingQuantizer) for module in model.modules()):
        raise ConfigCombinationError(
            f"model/quantizer=growth cannot take callbacks.{callback}, which watches its codebook: "
            "use callbacks=growth (plain + CodebookGrowth)"
        )
