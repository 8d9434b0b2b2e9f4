"""Lightning's rich progress bar, readable at 80 columns: three short metrics, one per line.

Lightning's bar shows every metric logged with ``prog_bar=True`` as ``name: value`` pairs joined by
spaces, plus ``v_num``; at 80 columns the metrics column beside the bar is ~19 characters wide, so
the pairs wrap into a 14-line column with names and values on different lines. This bar shows at
most three short metrics, each on its own line: ``recon`` (``train/recon_mse``), ``vq``
(``train/vq_loss``), ``ppl`` (``codebook/perplexity``, the effective number of codes in use; the
training window's usage saturates at 1.0 after k-means init), then ``temp`` (``temperature``) or
``val usage`` (``val/usage``) where those are missing; values to 3 significant digits. Every metric
stays in the logs and dashboards. ``Epoch 3/-2`` (training with no epoch limit) reads ``Epoch 3``.
"""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import RichProgressBar
from lightning.pytorch.callbacks.progress.rich_progress import RichProgressBarTheme

# (logged name, name on the bar), in order of preference
SHOWN = (
    ("train/recon_mse", "recon"),
    ("train/vq_loss", "vq"),
    ("codebook/perplexity", "ppl"),
    ("temperature", "temp"),
    ("val/usage", "val usage"),
)
MAX_SHOWN = 3


class EpochProgressBar(RichProgressBar):
    """``RichProgressBar`` with at most ``MAX_SHOWN`` short metrics, one per line (see above)."""

    def __init__(self, console_kwargs: dict[str, Any] | None = None) -> None:
        theme = RichProgressBarTheme(metrics_text_delimiter="\n", metrics_format=".3g")
        super().__init__(theme=theme, console_kwargs=console_kwargs)

    def get_metrics(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        logged = trainer.callback_metrics
        shown = {short: float(logged[name]) for name, short in SHOWN if name in logged}
        return dict(list(shown.items())[:MAX_SHOWN])

    def _get_train_description(self, current_epoch: int) -> str:
        # Lightning writes "Epoch {epoch}/{max_epochs - 1}": "Epoch 3/-2" without an epoch limit
        description = super()._get_train_description(current_epoch)
        max_epochs = self.trainer.max_epochs
        if max_epochs is not None and max_epochs < 0:
            bare = f"Epoch {current_epoch}"
            description = description.replace(f"{bare}/{max_epochs - 1}", bare)
        return description
