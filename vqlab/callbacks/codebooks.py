"""Where the codebook callbacks find their quantizers: every leaf ``VectorQuantizer`` of a model."""

from __future__ import annotations

from torch import nn

from vqlab.errors import ConfigCombinationError
from vqlab.models.logged_module import LoggedModule
from vqlab.quantizers import GrowingQuantizer, VectorQuantizer
from vqlab.quantizers.naming import codebook_metric, leaf_codebooks


def codebook_quantizers(model: nn.Module) -> dict[str, VectorQuantizer]:
    """The model's codebooks (``VectorQuantizer``s that hold no other one) by display name.

    A vqlab model names them itself (``LoggedModule.codebooks``: ``top``, ``category_2``, and a
    composite's ``stage_1``, ``group_0``); any other module is searched by attribute path. A plain
    VQ-VAE has one; a two-level model or a composite quantizer one per codebook, each seeing its
    own inputs: k-means init and respawn treat each codebook on its own.
    """
    named = model.codebooks() if isinstance(model, LoggedModule) else {"": model}
    return leaf_codebooks(named)


def codebook_metric_name(name: str, names: list[str], metric: str) -> str:
    """``codebook/<metric>`` for a model's only codebook, ``codebook/<name>/<metric>`` when there
    are several (``vqlab.quantizers.naming``)."""
    return codebook_metric(name if len(names) > 1 else "", metric)


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
