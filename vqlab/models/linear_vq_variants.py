"""The linear VQ lab's other ways to fit the same model: hand-derived gradients, and PCA + Lloyd.

See ``vqlab.models.linear_vq`` for the model, its loss and the study it reproduces.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from vqlab.errors import ConfigValueError, check_non_negative
from vqlab.models.linear_vq import LinearVQ, LinearVQOutput
from vqlab.models.linear_vq_gradients import straight_through_gradients


class ManualGradientLinearVQ(LinearVQ):
    """``LinearVQ`` with the straight-through gradients derived by hand (no autograd graph).

    ``dL/dW`` and ``dL/dE`` from ``straight_through_gradients`` (derivation in its docstring);
    equal to ``LinearVQ(estimator="ste")``'s autograd gradients to float precision.
    """

    uses_autograd = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("estimator", "ste") != "ste":
            raise ConfigValueError(
                "model.estimator",
                "ste (the hand-derived gradients are straight-through)",
                kwargs["estimator"],
            )
        super().__init__(*args, **kwargs)

    def set_gradients(self, x: Tensor, out: LinearVQOutput, loss: Tensor) -> None:
        self.encoder.weight.grad, self.codebook.grad = straight_through_gradients(
            x.flatten(1).to(self.codebook),
            self.encoder.weight,
            self.codebook,
            out.indices,
            self.hparams.alpha,
            self.hparams.beta,
        )


class PCALloydVQ(LinearVQ):
    """The baseline: ``W`` = the top-m principal directions of the training set, ``E`` = Lloyd's
    k-means (k-means++ seeding) on every training row with ``lloyd_iterations`` steps (the study:
    30); no gradient step. The training loop runs its minimum of one epoch of no-op steps, so
    the method goes through ``fit`` like the others."""

    uses_autograd = False

    def __init__(self, *args: Any, lloyd_iterations: int = 30, **kwargs: Any) -> None:
        check_non_negative("lloyd_iterations", lloyd_iterations)
        super().__init__(*args, **kwargs)

    def codebook_start(self, x: Tensor) -> tuple[Tensor, int]:
        """Every training row, ``lloyd_iterations`` steps."""
        return x, self.hparams.lloyd_iterations

    def descend(self, x: Tensor, out: LinearVQOutput, loss: Tensor) -> None:
        """Nothing to train."""

    def on_train_start(self) -> None:
        self.trainer.should_stop = True  # one no-op step: the fit is the initialisation
