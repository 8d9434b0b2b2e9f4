"""Tokenize a dataset split with a trained VQ model: ``python -m vqlab.tokenize run_dir=<run> ...``.

Arguments are ``key=value`` (``--help`` prints this text):

- ``run_dir`` (required; or the first argument alone): the training run
  (``logs/train/runs/<time>`` or a multirun job) of a VQ-VAE, HC-VQ or VQ-VAE-2 model;
- ``split``: ``train``, ``val`` or ``test`` (default ``test``); ``checkpoint``: ``best``
  (default), ``last`` or a ``.ckpt`` path; ``device``: ``cpu`` (default), ``cuda``, ``cuda:1``...;
  ``batch_size``: overrides the data config's; ``output``: folder (default ``<run_dir>/tokens``);
- ``data=<name>`` tokenizes another dataset config (``conf/data/<name>.yaml``) with the run's
  model, ``data.<field>=<value>`` changes a field (``data.root=/datasets``); by default the run's
  own data config.

Writes ``<output>/<split>.npy``, the code indices of the whole split (n, *grid), row i for item
i of the split in its fixed dataset order (every split, train included, is read in order, never
shuffled), ``<output>/<split>_labels.npy`` (n,), each item's label (-1 where the data has none),
and ``<output>/<split>.json`` with ``codebook_size``, ``grid_shape``, ``num_items``, ``dtype``,
``split``, ``checkpoint`` and ``run_dir``. A VQ-VAE-2 run writes one file per level,
``<split>_top.npy`` and ``<split>_bottom.npy``, and its json holds ``levels``, each with its
``codebook_size`` and ``grid_shape``. Batched, no gradient, with a progress bar. A model without a
codebook (the concrete autoencoder, ...) is refused in one line.

A run directory runs no code of its author's: its model and data configs may name only the classes
vqlab builds, and its checkpoint is loaded with ``weights_only=True`` (``vqlab.runs.trust``);
``--trust`` lifts both limits for a run you trust.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from rich.progress import track
from torch.utils.data import DataLoader

from vqlab.cli.one_line import one_line_errors
from vqlab.config.location import config_dir
from vqlab.errors import (
    ConfigCombinationError,
    ConfigError,
    ConfigValueError,
    UnknownConfigKeyError,
)
from vqlab.models import VQVAE, VQVAE2
from vqlab.quantizers import VectorQuantizer
from vqlab.runs.loading import build_model, checkpoint_path, load_run_config, load_weights
from vqlab.runs.trust import checked_node

OPTIONS = {"run_dir", "split", "checkpoint", "device", "batch_size", "output", "data"}
SPLITS = ("train", "val", "test")


def parse_arguments(arguments: list[str]) -> tuple[dict[str, str], list[str]]:
    """``key=value`` arguments -> (tokenize options, ``data.<field>=...`` overrides)."""
    options, data_overrides = {}, []
    if arguments and "=" not in arguments[0] and not arguments[0].startswith("-"):
        arguments = [f"run_dir={arguments[0]}", *arguments[1:]]  # the run directory alone
    for argument in arguments:
        key, separator, value = argument.partition("=")
        if not separator or (key not in OPTIONS and not key.startswith("data.")):
            raise UnknownConfigKeyError(
                f"unknown argument {argument!r}: pass key=value with key one of "
                f"{', '.join(sorted(OPTIONS))} or data.<field>"
            )
        if key.startswith("data."):
            data_overrides.append(argument)
        else:
            options[key] = value
    if "run_dir" not in options:
        raise ConfigError("run_dir is required: run_dir=logs/train/runs/<time> (a training run)")
    if options.get("split", "test") not in SPLITS:
        raise ConfigValueError("split", f"one of {', '.join(SPLITS)}", options["split"])
    return options, data_overrides


def data_config(run_config: DictConfig, name: str | None, overrides: list[str]) -> DictConfig:
    """The run's config with its ``data`` / ``input_shape`` replaced by ``conf/data/<name>.yaml``
    (when ``name`` is given) and ``data.<field>=<value>`` overrides applied."""
    if name is not None:
        with initialize_config_dir(str(config_dir()), version_base="1.3"):
            composed = compose("train", overrides=[f"data={name}", f"seed={run_config.seed}"])
        run_config.data = composed.data
        run_config.input_shape = composed.input_shape
    return OmegaConf.merge(run_config, OmegaConf.from_dotlist(overrides))


def split_items(
    datamodule: Any, split: str, device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``(x, labels)`` batches of the split in its dataset order (no shuffle, no flips), moved to
    ``device`` and through the datamodule's batch hook (images scaled to their value range)."""
    datamodule.setup("fit" if split != "test" else "test")
    loader = DataLoader(datamodule.split_dataset(split), batch_size=datamodule.batch_size)
    for batch in loader:
        batch = datamodule.on_after_batch_transfer(
            datamodule.transfer_batch_to_device(batch, device, 0), 0
        )
        x = batch[0]
        labels = batch[1] if len(batch) > 1 else torch.full((len(x),), -1)
        yield x, labels.cpu()


def split_batches(datamodule: Any, split: str, device: torch.device) -> Iterator[torch.Tensor]:
    """The split's inputs ``x``, batch by batch, in its dataset order (see ``split_items``)."""
    return (x for x, _ in split_items(datamodule, split, device))


def codebooks(model: L.LightningModule) -> dict[str, VectorQuantizer]:
    """The model's codebooks by level (``""`` for a single one), in ``model.encode``'s order."""
    if isinstance(model, VQVAE2):
        return {"top": model.top_quantizer, "bottom": model.bottom_quantizer}
    if isinstance(model, VQVAE):
        return {"": model.quantizer}
    raise ConfigCombinationError(
        f"{type(model).__name__} has no codebook to tokenize with: vqlab.tokenize takes the run "
        "of a VQ-VAE (model=vqvae_ema, vqvae_ste, vqvae_mlp, hcvq, vqvae2)"
    )


@torch.no_grad()
def encode_split(
    model: L.LightningModule, levels: int, items: Iterator[tuple[torch.Tensor, torch.Tensor]]
) -> tuple[list[np.ndarray], np.ndarray]:
    """Code indices of every batch, one (n, *grid) int32 array per level, and the (n,) labels."""
    tokens: list[list[torch.Tensor]] = [[] for _ in range(levels)]
    labels = []
    for x, y in items:
        encoded = model.encode(x)
        for level, indices in zip(tokens, encoded if levels > 1 else [encoded], strict=True):
            level.append(indices.cpu())
        labels.append(y)
    arrays = [torch.cat(level).numpy().astype(np.int32) for level in tokens]
    return arrays, torch.cat(labels).numpy().astype(np.int64)


def tokenize(arguments: list[str]) -> Path:
    """Run the tokenizer (see the module docstring); returns the first ``.npy`` path written."""
    trust = "--trust" in arguments
    options, data_overrides = parse_arguments([a for a in arguments if a != "--trust"])
    run_dir = Path(options["run_dir"])
    config = data_config(load_run_config(run_dir), options.get("data"), data_overrides)
    if "batch_size" in options:
        config.data.batch_size = int(options["batch_size"])
    device = torch.device(options.get("device", "cpu"))
    checkpoint = checkpoint_path(run_dir, options.get("checkpoint", "best"))
    model = build_model(config, trust)
    levels = codebooks(model)  # before loading: a model without a codebook is one line
    load_weights(model, checkpoint, trust)
    model = model.to(device).eval()
    split = options.get("split", "test")
    datamodule = instantiate(checked_node(config.data, "the data config", trust))
    items = split_items(datamodule, split, device)
    arrays, labels = encode_split(model, len(levels), track(items, f"tokenizing {split}"))
    output = Path(options.get("output", run_dir / "tokens"))
    output.mkdir(parents=True, exist_ok=True)
    np.save(output / f"{split}_labels.npy", labels)
    paths, described = [], {}
    for (name, quantizer), array in zip(levels.items(), arrays, strict=True):
        paths.append(output / (f"{split}_{name}.npy" if name else f"{split}.npy"))
        np.save(paths[-1], array)
        shape = {"codebook_size": int(quantizer.codebook_size), "grid_shape": list(array.shape[1:])}
        described[name] = shape
    metadata = {
        **described.get("", {"levels": described}),
        "num_items": len(labels),
        "dtype": "int32",
        "split": split,
        "order": "dataset order of the split: row i is item i",
        "checkpoint": str(checkpoint),
        "run_dir": str(run_dir),
    }
    (output / f"{split}.json").write_text(json.dumps(metadata, indent=2) + "\n")
    return paths[0]


def main() -> None:
    """``python -m vqlab.tokenize run_dir=... [split=test] [data=...] [device=cpu] [--trust]``."""
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(__doc__)
        return
    with one_line_errors():
        path = tokenize(sys.argv[1:])
    print(f"wrote {path.parent}: {path.name} ... and {path.stem.split('_')[0]}.json")


if __name__ == "__main__":
    main()
