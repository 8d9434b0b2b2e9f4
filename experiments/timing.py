"""What every benchmark shares: the ``--device`` flag, the device's name, synchronised timers.

CUDA kernels run asynchronously: a wall-clock reading around a step measures only the launch unless
the device is synchronised before and after it. :func:`timed` and :func:`time_contenders` do that
(on the CPU synchronising is a no-op), and :func:`device_line` names the hardware a table came from
(the CPU model from ``/proc/cpuinfo``, else ``platform``; the GPU's name from CUDA).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch

DEVICES = ("cpu", "cuda")
T = TypeVar("T")


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """``--device {cpu,cuda}`` (default cpu)."""
    parser.add_argument("--device", choices=DEVICES, default="cpu", help="where the work runs")


def checked_device(name: str) -> torch.device:
    """``torch.device(name)``; exits with one line when CUDA is asked for and there is none."""
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("experiments: --device cuda, but torch finds no CUDA device")
    return torch.device(name)


def cpu_model() -> str:
    """The CPU's model name (Linux: ``/proc/cpuinfo``; elsewhere ``platform``'s guess)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device | str) -> str:
    """The GPU's name for a CUDA device, else the CPU model."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_model()


def device_line(device: torch.device | str) -> str:
    """One header line: device, its name, torch version, threads, load average."""
    device = torch.device(device)
    return (
        f"device {device.type} ({device_name(device)}), torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}"
    )


def synchronize(device: torch.device | str) -> None:
    """Wait for queued device work, so a wall-clock reading covers it."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(function: Callable[[], T], device: torch.device | str) -> tuple[float, T]:
    """``(seconds, result)`` of one call, the device synchronised before and after."""
    synchronize(device)
    start = time.perf_counter()
    result = function()
    synchronize(device)
    return time.perf_counter() - start, result


def time_contenders(
    steps: dict[str, Callable[[], object]], device: torch.device | str, repeats: int, warmup: int
) -> dict[str, list[float]]:
    """Seconds per call of each contender: ``warmup`` untimed calls each, then ``repeats``
    round-robin rounds (drifting machine load hits every contender alike)."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    seconds: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            seconds[name].append(timed(step, device)[0])
    return seconds
