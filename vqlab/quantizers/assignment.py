"""Learnable assignment of D features to K categories: a row-stochastic (D, K) matrix.

Each feature d has logits ``alpha_d`` (K,) and in training is assigned by a Gumbel-softmax
sample (Jang, Gu & Poole, "Categorical Reparameterization with Gumbel-Softmax", 2017,
arXiv:1611.01144, Eq. 1; Maddison et al., arXiv:1611.00712):

    A_dk = softmax_k((alpha_dk + g_dk) / T),   g_dk ~ Gumbel(0, 1) i.i.d.

``hard=True`` takes the one-hot of ``argmax_k A_dk`` forward and ``A``'s gradient backward
(straight-through); evaluation uses the one-hot of ``argmax_k alpha_dk``, with no noise. With
feature families, ``alpha_dk = -inf`` where category k belongs to another family than feature d,
so ``A_dk`` and ``softmax(alpha)_dk`` are exactly 0 there (a hard block-diagonal constraint);
``family_mask=False`` leaves the logits free and lets ``family_loss`` penalise the mass instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vqlab.errors import ConfigValueError, check_positive
from vqlab.quantizers.annealable import Annealable
from vqlab.quantizers.families import block_mask, category_families
from vqlab.quantizers.indirect import IndirectLogits


class SoftAssignment(Annealable):
    """``forward() -> A`` (D, K), rows summing to 1: features routed to categories.

    ``families`` (one label per feature, or None) with ``family_categories`` (categories per
    family, or None for an even split) restrict each feature to its family's block of
    categories. ``indirect_dim`` (int) parameterises the logits as ``Psi W^T + b`` (IP-CAE,
    ``IndirectLogits``) instead of a free (D, K) matrix. ``freeze()`` fixes the routing to the
    current hard assignment (no noise, no gradient, also in training); the ``frozen`` flag is a
    checkpointed buffer.

    Deviation: free logits start ``N(0, 0.01)``, nearly uniform (the seed does not say);
    ``initialize(labels, confidence)`` sets them from a clustering instead.
    """

    frozen: Tensor
    mask: Tensor
    feature_families: Tensor
    category_owners: Tensor

    def __init__(
        self,
        num_features: int,
        num_categories: int,
        temperature: float = 1.0,
        hard: bool = False,
        families: Sequence[int] | None = None,
        family_categories: Sequence[int] | None = None,
        family_mask: bool = True,
        indirect_dim: int | None = None,
    ) -> None:
        super().__init__(temperature)
        check_positive("num_features", num_features)
        if not num_categories >= 2:
            raise ConfigValueError("num_categories", ">= 2", num_categories)
        if num_categories > num_features:
            raise ConfigValueError(
                "num_categories", f"<= num_features ({num_features})", num_categories
            )
        self.num_features = int(num_features)
        self.num_categories = int(num_categories)
        self.hard = hard
        self.family_masked = bool(family_mask) and families is not None
        feature_families, category_owners = self.build_families(families, family_categories)
        # derived from the constructor arguments: not checkpointed
        self.register_buffer("feature_families", feature_families, persistent=False)  # (D,)
        self.register_buffer("category_owners", category_owners, persistent=False)  # (K,)
        self.register_buffer(
            "mask", block_mask(feature_families, category_owners), persistent=False
        )
        # the flag is checkpointed as a buffer and mirrored in Python: no device sync per forward
        self.register_buffer("frozen", torch.tensor(False))
        self.is_frozen = False
        if indirect_dim is None:
            self.logits = nn.Parameter(0.01 * torch.randn(num_features, num_categories))
            self.indirect = None
        else:
            self.register_parameter("logits", None)
            self.indirect = IndirectLogits(num_features, num_categories, indirect_dim)

    def build_families(
        self, families: Sequence[int] | None, family_categories: Sequence[int] | None
    ) -> tuple[Tensor, Tensor]:
        """Family of each feature (D,) and owning family of each category (K,); all 0 if none."""
        if families is None:
            if family_categories is not None:
                raise ConfigValueError(
                    "family_categories", "null when families is null", family_categories
                )
            return (
                torch.zeros(self.num_features, dtype=torch.long),
                torch.zeros(self.num_categories, dtype=torch.long),
            )
        if len(families) != self.num_features:
            raise ConfigValueError(
                "families",
                f"a list of {self.num_features} labels (one per feature)",
                f"{len(families)} labels",
            )
        owners = category_families(families, self.num_categories, family_categories)
        return torch.as_tensor(list(families), dtype=torch.long), owners

    def raw_logits(self) -> Tensor:
        """``alpha`` (D, K) before the family mask: free, or ``Psi W^T + b``."""
        return self.logits if self.indirect is None else self.indirect()

    def masked_logits(self) -> Tensor:
        """``alpha`` with ``-inf`` outside each feature's family (when the mask is on)."""
        logits = self.raw_logits()
        if not self.family_masked:
            return logits
        return logits.masked_fill(~self.mask, float("-inf"))

    def probabilities(self) -> Tensor:
        """``P = softmax(alpha)`` (D, K): the noise-free soft assignment."""
        return self.masked_logits().softmax(-1)

    def hard_assignment(self) -> Tensor:
        """``argmax_k alpha_dk``, (D,) int64: the category of each feature."""
        return self.masked_logits().argmax(-1)

    def hard_matrix(self) -> Tensor:
        """One-hot of ``hard_assignment()``, (D, K) float, no gradient."""
        with torch.no_grad():
            return F.one_hot(self.hard_assignment(), self.num_categories).float()

    def forward(self) -> Tensor:
        """``A`` (D, K): a Gumbel-softmax sample in training, the hard one-hot in eval or frozen."""
        if self.is_frozen or not self.training:
            return self.hard_matrix()
        return F.gumbel_softmax(self.masked_logits(), tau=self.temperature, hard=self.hard, dim=-1)

    def freeze(self) -> None:
        """Fix the routing to ``hard_assignment()``: no noise and no gradient from now on."""
        self.frozen.fill_(True)
        self.is_frozen = True
        for parameter in self.parameters():
            parameter.requires_grad_(False)

    @torch.no_grad()
    def initialize(self, labels: Tensor, confidence: float) -> None:
        """Logits ``confidence * one_hot(labels)`` (D,) -> (D, K), e.g. from a clustering."""
        check_positive("init_confidence", confidence)
        target = confidence * F.one_hot(labels.long().cpu(), self.num_categories).float()
        if self.indirect is None:
            self.logits.copy_(target)
        else:
            self.indirect.fit(target.to(self.indirect.embedding))

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        if self.frozen:  # a frozen run resumes frozen
            self.freeze()

    def extra_repr(self) -> str:
        indirect = "free logits" if self.indirect is None else "indirect logits"
        return (
            f"num_features={self.num_features}, num_categories={self.num_categories}, "
            f"hard={self.hard}, family_masked={self.family_masked}, {indirect}"
        )
