"""``python -m vqlab.report <multirun dir>``: write the sweep report (``vqlab.report.table``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vqlab.cli.one_line import one_line_errors
from vqlab.report.table import write_report


def main(arguments: list[str] | None = None) -> None:
    """``python -m vqlab.report <multirun dir>``."""
    parser = argparse.ArgumentParser(
        prog="python -m vqlab.report", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "sweep_dir", type=Path, help="a multirun directory (logs/train/multiruns/<time>)"
    )
    with one_line_errors():
        path = write_report(parser.parse_args(arguments).sweep_dir)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
