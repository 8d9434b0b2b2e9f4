"""Lightning's ``WandbLogger`` without the argument that recent wandb versions warn about."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.loggers import WandbLogger as LightningWandbLogger


class WandbLogger(LightningWandbLogger):
    """``lightning.pytorch.loggers.WandbLogger``, same arguments.

    Lightning passes ``anonymous=None`` to ``wandb.init`` even when it is not set, and wandb
    (>= 0.19) then warns on every run that "the anonymous setting has no effect"; this drops the
    argument unless it is set. ``id`` (with Lightning's ``resume="allow"``) continues a run.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self._wandb_init.get("anonymous") is None:
            self._wandb_init.pop("anonymous", None)
