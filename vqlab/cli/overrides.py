"""Check command-line overrides against the composed config before anything is built.

Hydra reports a mistyped key over several lines and suggests adding ``+``; following that advice,
``+modle=hcvq`` adds a key nothing reads and trains the default model. These checks give one line
with the closest valid key instead, and refuse a ``+key`` that nothing would read:

- ``key=value`` and ``~key``: ``key`` must exist ("did you mean
  ``model.quantizer.codebook_size``?");
- ``+key=value`` under a node with a ``_target_``: the target's constructor must take the key
  (or ``**kwargs``);
- ``+a.b._target_=...`` adds a whole new node with its own ``_target_`` under an existing node
  without one (``+callbacks.mine._target_=my.Callback``): allowed, and its other ``+a.b.*`` keys
  are checked against that target; a new top-level key is refused (nothing reads it);
- values are checked against the constructor's type annotation where there is one
  (``trainer.max_epochs=abc`` is refused before the model summary, not after).
"""

from __future__ import annotations

import difflib
import inspect
import types
import typing
from collections.abc import Iterator
from typing import Any

from hydra.core.override_parser.types import Override, OverrideType
from hydra.utils import get_object
from omegaconf import DictConfig, ListConfig

from vqlab.errors import ConfigValueError, UnknownConfigKeyError

MISSING = object()


def has_key(node: Any, key: str) -> bool:
    """``key`` is a child of the DictConfig ``node`` (unlike ``in``, never resolves a value)."""
    return isinstance(node, DictConfig) and key in node.keys()  # noqa: SIM118


def node_at(cfg: DictConfig, key: str) -> Any:
    """The node at dotted ``key`` without resolving interpolations, or ``MISSING``."""
    node: Any = cfg
    for part in key.split("."):
        if not has_key(node, part):
            return MISSING
        node = node._get_node(part)
    return node


def key_paths(node: Any, prefix: str = "") -> Iterator[str]:
    """Every dotted key path in ``node`` (inner nodes and leaves)."""
    if isinstance(node, DictConfig):
        for key in node.keys():  # noqa: SIM118 (iterating a DictConfig resolves nothing either)
            path = f"{prefix}{key}"
            yield path
            yield from key_paths(node._get_node(key), f"{path}.")


def suggestion(key: str, candidates: list[str]) -> str:
    """``: did you mean `x`?`` with the closest candidate, or an empty string."""
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    return f": did you mean `{close[0]}`?" if close else ""


def constructors(target: Any) -> list[Any]:
    """The callables that receive a ``_target_``'s keyword arguments: a function itself; for a
    class its ``__init__``, followed up the base classes while each passes ``**kwargs`` on to the
    next (an image datamodule hands its loader options to ``ImageDataModule``)."""
    if not inspect.isclass(target):
        return [target]
    chain = []
    for cls in target.__mro__:
        if "__init__" in vars(cls):
            chain.append(vars(cls)["__init__"])
            if not takes_any_keyword(chain[-1]):
                break
    return chain


def takes_any_keyword(function: Any) -> bool:
    """Whether ``function`` has a ``**kwargs`` parameter."""
    parameters = inspect.signature(function).parameters.values()
    return any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters)


def accepted_keys(target: str) -> list[str] | None:
    """The keyword arguments a ``_target_`` takes (None: any keyword, or unreadable)."""
    try:
        chain = constructors(get_object(target))
    except Exception:  # an unimportable target is instantiate's to report, with its own message
        return None
    if takes_any_keyword(chain[-1]):
        return None
    named = (inspect.signature(function).parameters.values() for function in chain)
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    keys = (p.name for parameters in named for p in parameters if p.kind in kinds)
    return [key for key in dict.fromkeys(keys) if key != "self"]


def new_key_reader(cfg: DictConfig, key: str, overrides: list[Override]) -> str | None:
    """Why a new ``+key`` is read (None: nothing reads it); raises when a constructor refuses it."""
    parts = key.split(".")
    depth = 0
    while depth < len(parts) - 1 and node_at(cfg, ".".join(parts[: depth + 1])) is not MISSING:
        depth += 1
    parent = ".".join(parts[:depth])
    parent_node = node_at(cfg, parent) if parent else cfg
    if has_key(parent_node, "_target_"):
        target, argument = str(parent_node._get_node("_target_")._value()), parts[depth]
    elif depth == 0:
        return None
    else:
        node = ".".join(parts[: depth + 1])
        targets = [o.value() for o in overrides if o.key_or_group == f"{node}._target_"]
        if not targets:
            raise UnknownConfigKeyError(
                f"+{key}: {node} is a new node without a _target_, nothing would read it; "
                f"give it one (+{node}._target_=<class>) or check the key"
            )
        if len(parts) == depth + 2 and parts[-1] == "_target_":
            return str(targets[-1])
        target, argument = str(targets[-1]), parts[depth + 1]
    accepted = accepted_keys(target)
    if accepted is not None and argument not in accepted:
        raise UnknownConfigKeyError(
            f"+{key}: {target} takes no argument '{argument}'"
            f"{suggestion(argument, accepted) or ' (it takes ' + ', '.join(accepted) + ')'}"
        )
    return target


def check_keys(cfg: DictConfig, overrides: list[Override], groups: set[str]) -> None:
    """Refuse overrides of keys that do not exist, and ``+`` keys that nothing reads."""
    candidates = [*key_paths(cfg), *sorted(groups)]
    for override in overrides:
        key = override.key_or_group
        exists = node_at(cfg, key) is not MISSING
        if override.type in (OverrideType.CHANGE, OverrideType.DEL) and not exists:
            raise UnknownConfigKeyError(
                f"unknown config key '{key}'{suggestion(key, candidates)} "
                "(`python -m vqlab.train --cfg job` prints every key)"
            )
        if override.type is OverrideType.ADD and exists:
            raise UnknownConfigKeyError(f"+{key}: {key} exists already: override it as {key}=...")
        adds = override.type in (OverrideType.ADD, OverrideType.FORCE_ADD)
        if adds and not exists and new_key_reader(cfg, key, overrides) is None:
            raise UnknownConfigKeyError(
                f"+{key}: a new top-level key that nothing reads{suggestion(key, candidates)}"
            )


def annotation_of(cfg: DictConfig, key: str) -> Any:
    """The annotation of ``key`` in its parent's ``_target_`` constructor, else MISSING."""
    parent, _, argument = key.rpartition(".")
    parent_node = node_at(cfg, parent) if parent else cfg
    if not has_key(parent_node, "_target_"):
        return MISSING
    target = get_object_or_none(str(parent_node._get_node("_target_")._value()))
    if target is None:
        return MISSING
    try:
        hints = [typing.get_type_hints(function) for function in constructors(target)]
    except Exception:  # unresolvable annotations: no check rather than a false alarm
        return MISSING
    return next((hint[argument] for hint in hints if argument in hint), MISSING)


def get_object_or_none(target: str) -> Any:
    """``get_object(target)``, or None when it cannot be imported."""
    try:
        return get_object(target)
    except Exception:
        return None


def fits(value: Any, annotation: Any) -> bool:
    """Whether a parsed command-line ``value`` can be passed where ``annotation`` is declared."""
    if annotation is Any or annotation is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(fits(value, option) for option in typing.get_args(annotation))
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if origin in (list, tuple) or annotation in (list, tuple):
        return isinstance(value, list | ListConfig)
    return True  # other annotations (classes, callables, ...): instantiate checks them


def check_types(cfg: DictConfig, overrides: list[Override]) -> None:
    """Refuse a value that its constructor argument's annotation cannot take."""
    for override in overrides:
        if override.type is OverrideType.DEL or override.is_sweep_override():
            continue
        value = override.value()
        if isinstance(value, str) and "${" in value:
            continue
        annotation = annotation_of(cfg, override.key_or_group)
        if annotation is not MISSING and not fits(value, annotation):
            raise ConfigValueError(override.key_or_group, f"of type {describe(annotation)}", value)


def describe(annotation: Any) -> str:
    """A short human name for a type annotation (``Optional[int]`` -> ``int or None``)."""
    options = typing.get_args(annotation) if typing.get_origin(annotation) else ()
    if typing.get_origin(annotation) is typing.Literal:
        return "one of " + ", ".join(repr(option) for option in options)
    if options:
        return " or ".join(describe(option) for option in options)
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))
