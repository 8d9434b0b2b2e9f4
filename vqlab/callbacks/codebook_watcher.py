"""The base of the callbacks that watch every codebook of a model while it trains."""

from __future__ import annotations

from typing import Any

import lightning as L
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from vqlab.callbacks.codebooks import codebook_quantizers, require_codebooks
from vqlab.quantizers import QuantizerOutput, VectorQuantizer


class CodebookWatcher(L.Callback):
    """Per-codebook state fed by forward hooks in training, restored from checkpoints.

    ``setup`` (fit) finds the model's codebooks (``codebook_quantizers``), refuses a model without
    one unless ``require_codebook`` is false, lets ``watch(name, quantizer)`` make each one's state
    and hooks its forward: every training forward hands ``record(name, z, output)`` the
    quantizer's input, detached and flattened to (n, d), and its output. ``teardown`` removes the
    hooks. A checkpoint is loaded before ``setup`` has made that state on the right device, so a
    subclass's ``load_state_dict`` leaves it in ``pending_state`` and ``restore`` applies it when
    training starts.
    """

    def __init__(self, callback: str, require_codebook: bool) -> None:
        self.callback = callback  # its config key, for errors
        self.require_codebook = require_codebook
        self.quantizers: dict[str, VectorQuantizer] = {}
        self.handles: list[RemovableHandle] = []
        self.pending_state: Any = None

    def watch(self, name: str, quantizer: VectorQuantizer) -> None:
        """Make the state of one codebook."""
        raise NotImplementedError

    def record(self, name: str, z: Tensor, output: QuantizerOutput) -> None:
        """Take one training forward of codebook ``name``: its input ``z`` (n, d), its output."""
        raise NotImplementedError

    def restore(self, state: Any) -> None:
        """Apply the state that ``load_state_dict`` left in ``pending_state``."""
        raise NotImplementedError

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        self.quantizers = codebook_quantizers(pl_module)
        require_codebooks(self.quantizers, self.callback, self.require_codebook)
        for name, quantizer in self.quantizers.items():
            self.watch(name, quantizer)
            self.handles.append(quantizer.register_forward_hook(self._hook(name)))

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()

    def _hook(self, name: str):
        def hook(module: nn.Module, args: tuple[Tensor, ...], output: QuantizerOutput) -> None:
            if module.training:
                self.record(name, args[0].detach().reshape(-1, args[0].shape[-1]), output)

        return hook

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.pending_state is not None:
            self.restore(self.pending_state)
            self.pending_state = None
