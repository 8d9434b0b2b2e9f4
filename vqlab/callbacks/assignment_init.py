"""Initialise a learnable assignment from a hierarchical clustering of the training data."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor

from vqlab.clustering.features import family_correlation_clusters
from vqlab.errors import ConfigCombinationError, check_positive
from vqlab.quantizers import SoftAssignment


class ClusteringInit(L.Callback):
    """At the start of a fresh fit, set every ``SoftAssignment``'s logits from a clustering.

    The first ``num_samples`` training rows are clustered by ``1 - |correlation|`` (average
    linkage, ``vqlab.clustering.features``) into the assignment's K categories (within each
    family, into its own categories, when it has families); the logits become
    ``init_confidence * one_hot(cluster)`` (the seed: clustering -> high-confidence logits).
    Rank 0 decides and broadcasts the labels, so all DDP ranks start identical. A resumed run
    (``ckpt_path``) keeps its checkpointed logits.
    """

    def __init__(self, num_samples: int = 2048, init_confidence: float = 3.0) -> None:
        check_positive("num_samples", num_samples)
        check_positive("init_confidence", init_confidence)
        self.num_samples = num_samples
        self.init_confidence = init_confidence
        self.done = False

    def samples(self, trainer: L.Trainer) -> Tensor:
        """Up to ``num_samples`` training rows, flattened to (n, D)."""
        if trainer.datamodule is None:
            raise ConfigCombinationError(
                "callbacks.assignment_init: needs a datamodule (trainer.fit(datamodule=...))"
            )
        rows, count = [], 0
        for batch in trainer.datamodule.train_dataloader():
            rows.append(batch[0].flatten(1).float().cpu())
            count += rows[-1].shape[0]
            if count >= self.num_samples:
                break
        return torch.cat(rows)[: self.num_samples]

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.done or trainer.ckpt_path is not None:
            return
        modules = [m for m in pl_module.modules() if isinstance(m, SoftAssignment)]
        if not modules:
            raise ConfigCombinationError(
                f"callbacks.assignment_init: {type(pl_module).__name__} has no SoftAssignment: it "
                "is part of model=learnable_vq's recipe; choose that model, or other callbacks "
                "(callbacks=default)"
            )
        samples = self.samples(trainer) if trainer.is_global_zero else None
        for assignment in modules:
            labels = self.labels(samples, assignment) if trainer.is_global_zero else None
            labels = trainer.strategy.broadcast(labels, src=0)
            assignment.initialize(labels.to(pl_module.device), self.init_confidence)
        self.done = True

    def labels(self, samples: Tensor, assignment: SoftAssignment) -> Tensor:
        """The category of each feature (D,), from the sampled rows (n, D)."""
        return family_correlation_clusters(
            samples, assignment.feature_families.cpu(), assignment.category_owners.cpu()
        )

    def state_dict(self) -> dict[str, Any]:
        return {"done": self.done}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.done = state_dict["done"]
