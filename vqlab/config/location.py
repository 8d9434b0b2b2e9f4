"""Where vqlab's Hydra configs are: inside the installed package, or ``conf/`` of a checkout.

``conf/`` at the top of the repository is the source of truth. A wheel (or a non-editable
``pip install .``) ships a copy as the package data ``vqlab/conf`` (see ``setup.py``); an editable
install maps ``vqlab.conf`` to ``conf/``; a checkout on ``PYTHONPATH`` has no ``vqlab.conf`` at
all and uses ``conf/`` beside the package.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

PRIMARY_CONFIG = "train.yaml"
CHECKOUT_CONFIG_DIR = Path(__file__).resolve().parents[2] / "conf"


def config_dir() -> Path:
    """The directory holding ``train.yaml`` and the config groups, found through the package."""
    try:
        spec = importlib.util.find_spec("vqlab.conf")
    except ModuleNotFoundError:
        spec = None
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / PRIMARY_CONFIG).is_file():
            return Path(location)
    return CHECKOUT_CONFIG_DIR
