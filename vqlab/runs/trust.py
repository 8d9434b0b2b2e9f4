"""Opening a run directory runs no code unless the caller trusts it.

A run's ``.hydra/config.yaml`` names classes (``_target_``) that Hydra imports and calls, and its
checkpoints are pickles; both come from whoever wrote the directory. By default only the classes
a vqlab model or dataset is built from are instantiated (``ALLOWED_PREFIXES``: vqlab's models,
nets, quantizers, regularizers, topology and datamodules, torch's ``nn`` modules, optimizers and
learning-rate schedulers; classes only, no functions), and checkpoints are loaded with
``weights_only=True`` (tensors and plain values). ``trust=True`` lifts both limits.
"""

from __future__ import annotations

import inspect
import pickle
import re
from pathlib import Path
from typing import Any

import torch
from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf

from vqlab.errors import UntrustedRunError

ALLOWED_PREFIXES = (
    "vqlab.models.",
    "vqlab.nets.",
    "vqlab.quantizers.",
    "vqlab.regularizers.",
    "vqlab.topology.",
    "vqlab.data.",
    "torch.nn.",
    "torch.optim.",
)
# torch's weights-only unpickler names what it refused: "Unsupported global: GLOBAL posix.system",
# "unsupported GLOBAL os.makedirs whose module os is blocked"
UNSUPPORTED_GLOBAL = re.compile(r"[Uu]nsupported (?:global: )?GLOBAL ([\w.]+)")
TRUST_HINT = "open it with trust=True (vqlab.load_run) or --trust (vqlab.tokenize) if you trust it"


def targets(node: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every ``(config path, _target_)`` in a plain (resolved) container, nested ones included."""
    found: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        if "_target_" in node:
            found.append((path or "<root>", node["_target_"]))
        for key, value in node.items():
            found += targets(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += targets(value, f"{path}[{index}]")
    return found


def allowed(target: Any) -> bool:
    """Whether ``target`` names a class under one of ``ALLOWED_PREFIXES``."""
    if not isinstance(target, str) or not target.startswith(ALLOWED_PREFIXES):
        return False
    try:
        return inspect.isclass(get_object(target))
    except Exception:  # not importable: Hydra names it when instantiating
        return True


def checked_node(node: DictConfig, where: str, trust: bool = False) -> dict[str, Any]:
    """``node`` resolved to plain values, after checking its ``_target_``s (unless ``trust``).

    Resolving first means an interpolation or resolver cannot introduce a target after the
    check; the caller instantiates the returned container.
    """
    resolved = OmegaConf.to_container(node, resolve=True)
    assert isinstance(resolved, dict)
    if not trust:
        for path, target in targets(resolved):
            if not allowed(target):
                raise UntrustedRunError(
                    f"{where} names _target_ {target!r} at {path}, outside what vqlab builds "
                    f"({', '.join(p.rstrip('.') for p in ALLOWED_PREFIXES)} classes): "
                    f"{TRUST_HINT}"
                )
    return resolved


def load_checkpoint(path: Path, trust: bool = False) -> dict[str, Any]:
    """``torch.load`` on CPU: ``weights_only=True`` unless ``trust``; a pickle that would run
    code (or hold any other object) is refused with one line."""
    try:
        return torch.load(path, map_location="cpu", weights_only=not trust)
    except pickle.UnpicklingError as error:
        found = UNSUPPORTED_GLOBAL.search(str(error))
        if found is None:
            raise  # not a foreign object: a damaged or foreign file, for the caller to name
        raise UntrustedRunError(
            f"checkpoint {path} holds objects other than tensors and plain values "
            f"({found.group(1)}): "
            f"{TRUST_HINT}"
        ) from None
