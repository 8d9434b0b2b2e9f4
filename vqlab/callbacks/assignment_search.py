"""Initialise a learnable assignment by the split-merge k-subspace search, from a random start."""

from __future__ import annotations

import lightning as L
from torch import Tensor

from vqlab.callbacks.assignment_init import ClusteringInit
from vqlab.clustering.assignment_search import search_assignment
from vqlab.errors import ConfigCombinationError, check_positive
from vqlab.quantizers import SoftAssignment


class AssignmentSearchInit(ClusteringInit):
    """At the start of a fresh fit, set the assignment's logits from ``search_assignment``.

    The assignment-first phase of the random-start recipe: the first ``num_samples`` training
    rows train the assignment alone (random logits, category encoders and per-category
    read-outs, no codebooks, no joint decoder; ``vqlab.clustering.assignment_search`` has the
    loss, the split-merge moves and the label-free criterion that picks the best of
    ``restarts``), and the logits become ``init_confidence * one_hot(category)``; the full model
    then trains from there. The search's category latents are as wide as the model's
    (``pl_module.encoders.latent_dim``). As ``ClusteringInit``: rank 0 decides and broadcasts,
    a resumed run keeps its checkpointed logits. Assignments with families are refused. A
    ``fast_dev_run`` smoke run searches for 2 steps, one restart, no moves (its assignment is not
    meant to be good).
    """

    def __init__(
        self,
        num_samples: int = 6400,
        init_confidence: float = 3.0,
        steps: int = 1500,
        moves: int = 6,
        move_steps: int = 500,
        restarts: int = 3,
        seed: int = 0,
    ) -> None:
        super().__init__(num_samples, init_confidence)
        for name, value in (("steps", steps), ("move_steps", move_steps), ("restarts", restarts)):
            check_positive(name, value)
        self.smoke = False
        self.settings = {
            "steps": steps,
            "moves": moves,
            "move_steps": move_steps,
            "restarts": restarts,
            "seed": seed,
        }

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.smoke = bool(trainer.fast_dev_run)
        encoders = getattr(pl_module, "encoders", None)  # absent: ClusteringInit refuses the model
        if encoders is not None:
            self.settings["latent_dim"] = encoders.latent_dim
        super().on_fit_start(trainer, pl_module)

    def labels(self, samples: Tensor, assignment: SoftAssignment) -> Tensor:
        if assignment.family_masked:
            raise ConfigCombinationError(
                "callbacks.assignment_init: AssignmentSearchInit does not take feature families; "
                "use ClusteringInit (callbacks=learnable_vq) or model.assignment.families=null"
            )
        settings = dict(self.settings)
        if self.smoke:
            settings.update(steps=2, moves=0, restarts=1)
        return search_assignment(samples, assignment.num_categories, **settings)
