"""Homology regularization: schedule and dashboards of the HC-VQ term.

Volkov, "Homology-constrained vector quantization entropy regularizer", 2022, arXiv:2211.14363.
"""

from __future__ import annotations

from typing import Any

import lightning as L

from vqlab.callbacks.image_logging import figure_to_image, log_image
from vqlab.errors import check_non_negative, check_positive
from vqlab.models import HCVQ
from vqlab.topology import persistence_diagram_figure


class HomologyRegularization(L.Callback):
    """Ramp the HC-VQ term in, and log its metrics and the codebook's persistence diagrams.

    Weight schedule (a vqlab addition; the reference has none, i.e. ``start_step = ramp_steps = 0``)
    at training step t::

        weight(t) = 0                                   if t < start_step
                  = min(1, (t - start_step + 1) / ramp_steps)   otherwise (1 when ramp_steps = 0)

    multiplies ``s * loss`` through the model's ``hcvq.weight``. The reference's own schedule (``s``
    every ``period`` steps, pairing refresh every ``pairing_every`` steps) is the model's, in
    ``model.hcvq``, so ``model=hcvq`` trains the same with or without this callback; its state
    (accumulators, ``s``, pairing) is in the model's ``state_dict``, hence in the checkpoint, and
    the weight is a function of the restored ``global_step``: resume is exact.

    The model logs its own ``hcvq/*`` quantities (``HCVQ``); this callback adds ``hcvq/weight``
    every training step and, every ``diagram_every`` steps (and at step 0), the last valid H0 / H1
    diagram of the codebook (``HCVQState``: the pairing of the last refresh on the points it was
    computed from, never a reused pairing on moved points) to W&B / TensorBoard as
    ``hcvq/persistence_diagram`` and to ``<run dir>/persistence_diagrams/step_XXXXXXX.png``, titled
    with the step of the codebook it shows. Nothing is logged with ``enabled=false``.
    """

    def __init__(self, start_step: int = 0, ramp_steps: int = 0, diagram_every: int = 500) -> None:
        check_non_negative("start_step", start_step)
        check_non_negative("ramp_steps", ramp_steps)
        check_positive("diagram_every", diagram_every)
        self.start_step = int(start_step)
        self.ramp_steps = int(ramp_steps)
        self.diagram_every = int(diagram_every)

    def weight(self, step: int) -> float:
        """The schedule above at training step ``step``."""
        if step < self.start_step:
            return 0.0
        if self.ramp_steps == 0:
            return 1.0
        return min(1.0, (step - self.start_step + 1) / self.ramp_steps)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if not isinstance(pl_module, HCVQ):
            raise TypeError(
                f"callbacks=homology needs model=hcvq, got {type(pl_module).__name__}: "
                "drop callbacks=homology or train model=hcvq"
            )

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: HCVQ, batch: Any, batch_idx: int
    ) -> None:
        pl_module.hcvq.weight = self.weight(trainer.global_step)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: HCVQ, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        state = pl_module.hcvq.last
        if state is None:
            return
        pl_module.log("hcvq/weight", pl_module.hcvq.weight, on_step=True, on_epoch=False)
        # global_step has already advanced past the step that produced ``state``
        step = trainer.global_step - 1
        if step % self.diagram_every == 0:
            title = f"codebook, step {state.diagram_step} (logged at step {step})"
            figure = persistence_diagram_figure(state.h0, state.h1, title=title)
            png_path = f"persistence_diagrams/step_{step:07d}.png"
            log_image(trainer, "hcvq/persistence_diagram", figure_to_image(figure), png_path)
