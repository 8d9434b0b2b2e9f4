"""Read the metric history out of a W&B offline run file (``run-<id>.wandb``), without network.

The file is a LevelDB-style log: a 7-byte header (``:W&B``, 0xBEE1, version), then 32 KiB blocks of
records, each ``crc32 (4) | length (2, little endian) | type (1: full, 2: first, 3: middle,
4: last)`` followed by a chunk of a serialised ``wandb_internal_pb2.Record``.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from wandb.proto import wandb_internal_pb2

from vqlab.errors import RunDirectoryError

BLOCK_SIZE = 32 * 1024
HEADER_SIZE = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def read_records(path: Path) -> list[wandb_internal_pb2.Record]:
    """Every record of the run file, in order."""
    data = Path(path).read_bytes()
    if data[:4] != b":W&B":
        raise RunDirectoryError(f"{path} is not a W&B run file (it does not start with :W&B)")
    records, pending, position = [], b"", HEADER_SIZE
    while position + HEADER_SIZE <= len(data):
        if BLOCK_SIZE - position % BLOCK_SIZE < HEADER_SIZE:  # block trailer padding
            position += BLOCK_SIZE - position % BLOCK_SIZE
            continue
        _, length, kind = struct.unpack("<IHB", data[position : position + HEADER_SIZE])
        chunk = data[position + HEADER_SIZE : position + HEADER_SIZE + length]
        position += HEADER_SIZE + length
        pending = chunk if kind in (FULL, FIRST) else pending + chunk
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
    return records


def metric_history(path: Path) -> dict[str, list]:
    """``{key: [value, ...]}`` of every logged history row, in order."""
    history: dict[str, list] = {}
    for record in read_records(path):
        if record.WhichOneof("record_type") != "history":
            continue
        for item in record.history.item:
            key = item.key or "/".join(item.nested_key)
            history.setdefault(key, []).append(json.loads(item.value_json))
    return history
