"""Concrete selector: k Gumbel-softmax distributions over the D input features.

Abid, Balin & Zou, "Concrete Autoencoders: Differentiable Feature Selection and
Reconstruction", ICML 2019, arXiv:1901.09346, Sec. 3, Eq. 1:
``m_i = softmax((alpha_i + g_i) / T)``, ``g_ij ~ Gumbel(0, 1)`` i.i.d., and the selected features
``z = M x`` with ``M = [m_1; ...; m_k]`` (k, D). As ``T -> 0`` each ``m_i`` becomes the one-hot
of ``argmax_j (alpha_ij + g_ij)``; at evaluation ``m_i`` is the one-hot of ``argmax_j alpha_ij``.
The GJS regularizer (``gjs_divergence``) is from Nilsson et al., "Indirectly Parameterized
Concrete Autoencoders", ICML 2024, arXiv:2403.00563, as is the indirect parameterisation of
the logits (``indirect_dim``, ``IndirectLogits``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vqlab.errors import ConfigError, ConfigValueError, check_positive
from vqlab.functional import generalized_jensen_shannon
from vqlab.quantizers.annealable import Annealable
from vqlab.quantizers.indirect import IndirectLogits


class ConcreteSelector(Annealable):
    """x (b, D) -> z (b, k): k learned (soft, in training) selections of the D input features.

    Training samples one selection matrix ``M`` (k, D) per batch, as the paper's reference code
    does; ``hard=True`` makes each row the straight-through one-hot of the sample. Evaluation
    takes the features ``argmax_j alpha_ij``, deterministically. ``logit_dropout`` zeroes each
    logit with that probability before sampling (``nn.Dropout``, training only).

    Deviation: the logits start as ``u / sum(u)``, ``u ~ U(0, 1)`` per row (nearly uniform, as the
    seed's code), not Glorot-normal as the paper's Keras code: the annealing, not the
    initialisation, breaks the symmetry. ``probabilities()`` and ``gjs_divergence()`` ignore the
    logit dropout, so the regularizer and the convergence metric are deterministic.
    ``indirect_dim`` (int) makes the logits ``Psi W^T + b`` (IP-CAE: a learned embedding per
    selector, one shared linear map) and ``logits`` None; ``selection_logits()`` reads either.
    """

    def __init__(
        self,
        num_features: int,
        num_selected: int,
        temperature: float = 10.0,
        hard: bool = False,
        logit_dropout: float = 0.0,
        indirect_dim: int | None = None,
    ) -> None:
        super().__init__(temperature)
        check_positive("num_features", num_features)
        check_positive("num_selected", num_selected)
        if not 0.0 <= logit_dropout < 1.0:
            raise ConfigValueError("logit_dropout", "in [0, 1)", logit_dropout)
        self.num_features = num_features
        self.num_selected = num_selected
        self.hard = hard
        self.indirect = None
        if indirect_dim is None:
            uniform = torch.rand(num_selected, num_features)
            self.logits = nn.Parameter(uniform / uniform.sum(-1, keepdim=True))  # (k, D)
        else:
            self.register_parameter("logits", None)
            self.indirect = IndirectLogits(num_selected, num_features, indirect_dim)
        self.logit_dropout = nn.Dropout(logit_dropout)

    def selection_logits(self) -> Tensor:
        """``alpha`` (k, D): the free logits, or the indirect ones."""
        return self.logits if self.indirect is None else self.indirect()

    def probabilities(self) -> Tensor:
        """``pi_i = softmax(alpha_i)``, (k, D): the distributions the samples concentrate on."""
        return self.selection_logits().softmax(-1)

    def selected_features(self) -> Tensor:
        """``argmax_j alpha_ij`` for each selector, (k,) int64 (repeats are possible)."""
        return self.selection_logits().argmax(-1)

    def gjs_divergence(self) -> Tensor:
        """``sum_i (1/k) KL(pi_i || (1/k) sum_j pi_j)``, a scalar in [0, log k]."""
        return generalized_jensen_shannon(self.selection_logits().log_softmax(-1))

    def selection_matrix(self) -> Tensor:
        """A sample of ``M`` (k, D): Gumbel-softmax at ``temperature`` (torch's RNG)."""
        logits = self.logit_dropout(self.selection_logits())
        return F.gumbel_softmax(logits, tau=self.temperature, hard=self.hard, dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ConfigError(  # a config whose data and model sizes disagree
                f"concrete selector expects inputs of shape (b, num_features={self.num_features}), "
                f"got {tuple(x.shape)}: make num_features the data's feature count"
            )
        if not self.training:
            return x[:, self.selected_features()]
        return x @ self.selection_matrix().to(x.dtype).t()
