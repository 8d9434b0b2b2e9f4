"""Tokenize a dataset split with a trained VQ model: ``python -m vqlab.tokenize run_dir=<run> ...``.

Arguments are ``key=value``:

- ``run_dir`` (required): the training run (``logs/train/runs/<time>`` or a multirun job);
- ``split``: ``train``, ``val`` or ``test`` (default ``test``); ``checkpoint``: ``best``
  (default), ``last`` or a ``.ckpt`` path; ``device``: ``cpu`` (default), ``cuda``, ``cuda:1``...;
  ``batch_size``: overrides the data config's; ``output``: folder (default ``<run_dir>/tokens``);
- ``data=<name>`` tokenizes another dataset config (``conf/data/<name>.yaml``) with the run's
  model, ``data.<field>=<value>`` changes a field (``data.root=/datasets``); by default the run's
  own data config.

Writes ``<output>/<split>.npy``, the code indices of the whole split (n, *grid) in the split
loader's order (sequential for val and test; the training loader's seeded epoch-0 shuffle for
train), and ``<output>/<split>.json`` with ``codebook_size``, ``grid_shape``, ``num_items``,
``dtype``, ``split``, ``checkpoint`` and ``run_dir``. Batched, no gradient, with a progress bar.

A run directory runs no code of its author's: its model and data configs may name only the classes
vqlab builds, and its checkpoint is loaded with ``weights_only=True`` (``vqlab.runs.trust``);
``--trust`` lifts both limits for a run you trust.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from rich.progress import track

from vqlab.cli.one_line import one_line_errors
from vqlab.config.location import config_dir
from vqlab.errors import ConfigError, ConfigValueError, UnknownConfigKeyError
from vqlab.runs.loading import build_model, checkpoint_path, load_run_config, load_weights
from vqlab.runs.trust import checked_node

OPTIONS = {"run_dir", "split", "checkpoint", "device", "batch_size", "output", "data"}
SPLITS = ("train", "val", "test")


def parse_arguments(arguments: list[str]) -> tuple[dict[str, str], list[str]]:
    """``key=value`` arguments -> (tokenize options, ``data.<field>=...`` overrides)."""
    options, data_overrides = {}, []
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


def split_batches(datamodule: Any, split: str, device: torch.device) -> Any:
    """The split's batches, moved to ``device`` and through the datamodule's batch hook."""
    datamodule.setup("fit" if split != "test" else "test")
    loader = getattr(datamodule, f"{split}_dataloader")()
    for batch in loader:
        batch = datamodule.transfer_batch_to_device(batch, device, 0)
        yield datamodule.on_after_batch_transfer(batch, 0)[0]


@torch.no_grad()
def tokenize(arguments: list[str]) -> Path:
    """Run the tokenizer (see the module docstring); returns the ``.npy`` path."""
    trust = "--trust" in arguments
    options, data_overrides = parse_arguments([a for a in arguments if a != "--trust"])
    run_dir = Path(options["run_dir"])
    config = data_config(load_run_config(run_dir), options.get("data"), data_overrides)
    if "batch_size" in options:
        config.data.batch_size = int(options["batch_size"])
    device = torch.device(options.get("device", "cpu"))
    checkpoint = checkpoint_path(run_dir, options.get("checkpoint", "best"))
    model = build_model(config, trust)
    load_weights(model, checkpoint, trust)
    model = model.to(device).eval()
    split = options.get("split", "test")
    datamodule = instantiate(checked_node(config.data, "the data config", trust))
    batches = split_batches(datamodule, split, device)
    indices = [model.encode(x).cpu() for x in track(batches, description=f"tokenizing {split}")]
    tokens = torch.cat(indices).numpy().astype(np.int32)  # (n, *grid)
    output = Path(options.get("output", run_dir / "tokens"))
    output.mkdir(parents=True, exist_ok=True)
    np.save(output / f"{split}.npy", tokens)
    metadata = {
        "codebook_size": int(model.quantizer.codebook_size),
        "grid_shape": list(tokens.shape[1:]),
        "num_items": int(tokens.shape[0]),
        "dtype": str(tokens.dtype),
        "split": split,
        "checkpoint": str(checkpoint),
        "run_dir": str(run_dir),
    }
    (output / f"{split}.json").write_text(json.dumps(metadata, indent=2) + "\n")
    return output / f"{split}.npy"


def main() -> None:
    """``python -m vqlab.tokenize run_dir=... [split=test] [data=...] [device=cpu] [--trust]``."""
    with one_line_errors():
        path = tokenize(sys.argv[1:])
    print(f"wrote {path} and {path.with_suffix('.json')}")


if __name__ == "__main__":
    main()
