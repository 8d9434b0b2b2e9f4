"""Opt-in speed options of a built model: ``torch.compile`` of its networks, channels-last images.

``compile``: the model's ``encoder`` and ``decoder`` (where it has them) are compiled in place with
``nn.Module.compile`` (TorchDynamo + the inductor backend on the first call). In place, so the
model's ``state_dict`` keys stay the same: a checkpoint of a compiled run loads into an eager model
and the other way round (``torch.compile(module)`` would wrap it and prefix every key with
``_orig_mod.``). The quantizers stay eager: their EMA updates, DDP all-reduces and the callbacks'
forward hooks run as they do without the option. The first steps pay the compile time (tens of
seconds on a CPU; a C compiler is needed there).

``channels_last``: a model with 4-D (convolution) weights gets them in channels-last memory format
(NHWC strides) and a forward pre-hook that gives its 4-D input the same format, so the
convolutions run their NHWC kernels (faster on tensor-core GPUs and with oneDNN on recent CPUs).
Values are unchanged; a model without 4-D weights (the MLP and linear models) is left as it is.
Neither option is saved in a checkpoint: they are a property of the run, applied by ``vqlab.train``
from the top-level config keys ``compile`` and ``channels_last``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

COMPILED_NETWORKS = ("encoder", "decoder")


def compile_networks(model: nn.Module) -> list[str]:
    """``nn.Module.compile()`` (in place) on ``model.encoder`` and ``model.decoder`` where they
    exist; the names compiled."""
    names = [n for n in COMPILED_NETWORKS if isinstance(getattr(model, n, None), nn.Module)]
    for name in names:
        getattr(model, name).compile()
    return names


def channels_last_input(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """Forward pre-hook: a 4-D first argument in channels-last memory format."""
    if args and isinstance(args[0], torch.Tensor) and args[0].dim() == 4:
        return (args[0].contiguous(memory_format=torch.channels_last), *args[1:])
    return None


def use_channels_last(model: nn.Module) -> bool:
    """Channels-last weights and inputs for a model with 4-D parameters; whether it had any."""
    if not any(parameter.dim() == 4 for parameter in model.parameters()):
        return False
    model.to(memory_format=torch.channels_last)
    model.register_forward_pre_hook(channels_last_input)
    return True


def accelerate(model: nn.Module, *, compile: bool = False, channels_last: bool = False) -> None:
    """Apply the options of the module doc to ``model`` in place (channels-last first, so the
    compiled networks see the layout they will run with)."""
    if channels_last:
        use_channels_last(model)
    if compile:
        compile_networks(model)
