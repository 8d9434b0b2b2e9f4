"""Lightning's rich progress bar, without "Epoch 3/-2" when training has no epoch limit."""

from __future__ import annotations

from lightning.pytorch.callbacks import RichProgressBar


class EpochProgressBar(RichProgressBar):
    """``RichProgressBar`` whose train description reads ``Epoch 3`` when ``max_epochs = -1``.

    Lightning writes ``Epoch {epoch}/{max_epochs - 1}``, which shows ``Epoch 3/-2`` for training
    limited by ``max_steps`` or time alone (``max_epochs=-1``); with a limit it is unchanged.
    """

    def _get_train_description(self, current_epoch: int) -> str:
        description = super()._get_train_description(current_epoch)
        max_epochs = self.trainer.max_epochs
        if max_epochs is not None and max_epochs < 0:
            bare = f"Epoch {current_epoch}"
            description = description.replace(f"{bare}/{max_epochs - 1}", bare)
        return description
