"""The pixels a concrete autoencoder selects, as a mask over validation images."""

from __future__ import annotations

import torch

from vqlab.callbacks.recon_images import ReconstructionGrid
from vqlab.models.cae import ConcreteAutoencoder


class SelectedPixelsGrid(ReconstructionGrid):
    """Rows: the selection mask (white = selected), the inputs with only the selected pixels
    (the others grey), and the deterministic reconstructions from them.

    Logged each validation epoch as ``val/selected_pixels`` (W&B, TensorBoard) and saved as
    ``<run dir>/selected_pixels/epoch_EEE_step_SSSSSS.png``, rows labelled; the mask comes from
    ``selector.selected_features()`` (argmax per selector).
    """

    name = "selected_pixels"
    row_labels = ("selected", "input there", "output")

    def rows(self, pl_module: ConcreteAutoencoder, images: torch.Tensor) -> list[torch.Tensor]:
        low, high = self.value_range
        mask = torch.zeros(images[0].numel(), device=images.device)
        mask[pl_module.selector.selected_features()] = 1.0
        mask = mask.reshape(images.shape[1:]).expand_as(images)  # (n, c, h, w)
        masked = torch.where(mask > 0, images, torch.full_like(images, (low + high) / 2))
        return [low + (high - low) * mask, masked, pl_module(images)[0]]
