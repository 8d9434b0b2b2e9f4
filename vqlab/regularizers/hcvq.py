"""The HC-VQ term: entropy scale times the homology loss of the codebook.

Volkov, "Homology-constrained vector quantization entropy regularizer", 2022, arXiv:2211.14363
(formulas from its reference code, DESIGN.md, "HC-VQ", items 1-4):

    term = weight * s * ((b1 - b1_target)^2 + lambda_eps * (eps0 - eps0_target)^2)

with ``(b1, eps0)`` the homology signature of the codebook's Vietoris-Rips persistence diagrams
(:class:`vqlab.topology.HomologyLoss`), ``s`` the entropy scale (:class:`EntropyScale`, no gradient)
and ``weight`` a plain attribute, 1 unless the ``HomologyRegularization`` callback ramps it.
The gradient reaches the codebook through the diagrams' edge lengths, loss and gradient in one
autograd node (:class:`vqlab.topology.PairedHomologyLoss`, the chain rule by hand).

Deviation (cost, DESIGN.md "Cost"): the reference recomputes the persistence pairing on every
forward, validation included. Here a :class:`vqlab.topology.ReusablePairing` keeps the pairing,
re-evaluates it on the current codebook every training step and refreshes it every
``pairing_every`` steps (in a worker process when ``asynchronous``); validation and test evaluate
the current pairing and never refresh it. ``pairing_every=1, asynchronous=false`` is the
reference's every-step pairing.
Deviation: the reference's ``validation_step`` calls ``forward`` without ``validation=True``, so
every validation batch (the sanity check and the sample-image batch included) recomputes the
signature with a fresh pairing **and** adds its H_q / H_x to the training accumulators and advances
the step counter that schedules ``s``: validation changes training. Here validation evaluates the
current pairing on the current codebook with the current ``s`` and touches no training state.
``reference_validation=true`` reproduces the reference's behaviour (fresh pairing, accumulators and
counter updated by validation batches), for reproduction only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from vqlab.errors import check_positive
from vqlab.quantizers import QuantizerOutput
from vqlab.regularizers.entropy_scale import EntropyScale
from vqlab.topology import (
    HomologyLoss,
    Pairing,
    ReusablePairing,
    paired_homology_loss,
    require_giotto_ph,
)


@dataclass
class HCVQState:
    """The last training step's HC-VQ quantities, detached: what the model and callbacks log.

    ``b1`` / ``eps0`` are the signature the loss used (reused pairing on the current codebook);
    ``h0`` / ``h1`` the last *valid* diagrams (``ReusablePairing.fresh_diagrams``), of the codebook
    at training step ``diagram_step``: what is displayed and what the persistent entropies read.
    """

    h0: Tensor  # (n0, 2) H0 diagram of the codebook, rows (birth, death)
    h1: Tensor  # (n1, 2) H1 diagram, death >= birth
    b1: Tensor  # soft Betti-1 count
    eps0: Tensor  # mean H0 death
    scale: Tensor  # entropy scale s
    loss: Tensor  # the homology loss before weighting by s and weight
    term: Tensor  # weight * s * loss, what is added to the VQ loss
    diagram_step: int  # training step of the codebook that h0 / h1 describe


class HCVQRegularizer(nn.Module):
    """HC-VQ term of a codebook; see the module docstring.

    Args:
        homology: the homology loss (targets 100 and 0.5, weight 1e4, ``ell`` 1e-3 by default).
        entropy: entropy scale definition, ``reference`` or ``usage`` (see ``EntropyScale``).
        period: training steps between recomputations of ``s`` (reference: 200).
        target_ratio: ``D_b`` in ``s = |D_b - mean H_q / mean H_x|`` (reference: 1.0).
        pairing_every: training steps between persistence-pairing refreshes.
        asynchronous: refresh the pairing in a worker process (one period ahead).
        enabled: ``false`` gives the paper's baseline: the term is exactly 0 and costs nothing.
        reference_validation: validation batches update the entropy accumulators and the ``s``
            schedule and use a fresh pairing, as the reference's do (see the module doc).
    """

    def __init__(
        self,
        homology: HomologyLoss,
        entropy: str = "reference",
        period: int = 200,
        target_ratio: float = 1.0,
        pairing_every: int = 10,
        asynchronous: bool = True,
        enabled: bool = True,
        reference_validation: bool = False,
    ) -> None:
        super().__init__()
        require_giotto_ph()
        check_positive("pairing_every", pairing_every)
        self.homology = homology
        self.entropy_scale = EntropyScale(entropy, period, target_ratio)
        self.pairing = ReusablePairing(pairing_every, asynchronous)
        self.enabled = bool(enabled)
        self.reference_validation = bool(reference_validation)
        self.weight = 1.0  # set by the HomologyRegularization callback (start step, ramp)
        self.last: HCVQState | None = None

    @property
    def pairing_stability(self) -> float:
        """Fraction of pairs kept at the last pairing refresh (NaN before the second refresh)."""
        return self.pairing.stability

    def forward(self, codebook: Tensor, x: Tensor, quantized: QuantizerOutput) -> Tensor:
        """The term for codebook (K, d), input x (b, ...) in [-1, 1] and the quantizer's output.

        In training mode (and in validation with ``reference_validation``): accumulates the
        entropies and steps the ``s`` schedule; in training mode also steps the pairing.
        """
        if not self.enabled:
            return codebook.new_zeros(())
        if self.training or self.reference_validation:
            # H_q (reference) needs only each quantized vector's coordinate sum: gather the K row
            # sums, (..., 1), instead of the (..., d) vectors (bit-identical sums, no big buffer).
            row_sums = codebook.detach().sum(-1, keepdim=True)  # (K, 1)
            z_q_sums = nn.functional.embedding(quantized.indices, row_sums)  # (..., 1)
            scale = self.entropy_scale.update(x, z_q_sums, quantized.counts)
        else:
            scale = self.entropy_scale.scale
        if self.training:
            pairing = self.pairing.advance(codebook)
        elif self.reference_validation:
            pairing = Pairing.compute(codebook)
        else:
            pairing = self.pairing.current(codebook)
        paired = paired_homology_loss(self.homology, pairing, codebook)
        term = self.weight * scale * paired.loss
        if self.training:
            h0, h1 = self.pairing.fresh_diagrams(codebook.detach())
            signature = (paired.b1, paired.eps0, scale.detach(), paired.loss.detach())
            self.last = HCVQState(h0, h1, *signature, term.detach(), self.pairing.fresh_step)
        return term

    def close(self) -> None:
        """Stop the pairing worker process (it restarts on the next refresh)."""
        self.pairing.close()

    def get_extra_state(self) -> dict[str, Any]:
        return {"pairing": self.pairing.state_dict()}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.pairing.load_state_dict(state["pairing"])

    def extra_repr(self) -> str:
        every = self.pairing.pairing_every
        mode = "asynchronous" if self.pairing.asynchronous else "synchronous"
        return f"enabled={self.enabled}, pairing_every={every} ({mode})"
