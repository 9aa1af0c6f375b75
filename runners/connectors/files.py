"""Small file helpers: atomic writes (temp, fsync, rename) locally, single PUTs on object stores."""
from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["dead_letter_record", "fsync_dir", "is_local", "local_path", "read_text", "write_atomic"]


def is_local(location: str) -> bool:
    return "://" not in location or location.startswith("file://") or location.startswith("file:/")


def local_path(location: str) -> Path:
    if location.startswith("file://"):
        return Path(location[len("file://") :])
    if location.startswith("file:"):
        return Path(location[len("file:") :])
    return Path(location)


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(location: str, data: bytes) -> None:
    """Write the whole file or nothing: readers never see a partial file, a rewrite replaces it."""
    if is_local(location):
        path = local_path(location)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
        with open(partial, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
        fsync_dir(path.parent)
        return
    from pyarrow import fs as pafs

    filesystem, path_in_fs = pafs.FileSystem.from_uri(location)
    with filesystem.open_output_stream(path_in_fs) as stream:  # an object store PUT is atomic
        stream.write(data)


def read_text(location: str) -> str:
    if is_local(location):
        return local_path(location).read_text()
    from pyarrow import fs as pafs

    filesystem, path_in_fs = pafs.FileSystem.from_uri(location)
    with filesystem.open_input_stream(path_in_fs) as stream:
        return stream.read().decode("utf-8")


def dead_letter_record(
    *, topic: str, partition: int, offset: int, value: bytes | None, error: str, key: bytes | None = None
) -> dict[str, Any]:
    """One dead-letter line: where the record was, its raw value (UTF-8 text or base64) and why."""
    record: dict[str, Any] = {"topic": topic, "partition": partition, "offset": offset}
    for name, raw in (("key", key), ("value", value)):
        if raw is None:
            record[name] = None
            record[f"{name}_encoding"] = None
            continue
        try:
            record[name] = raw.decode("utf-8")
            record[f"{name}_encoding"] = "utf-8"
        except UnicodeDecodeError:
            record[name] = base64.b64encode(raw).decode("ascii")
            record[f"{name}_encoding"] = "base64"
    record["error"] = error
    return record


def json_lines(records: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode("utf-8") + b"\n" for r in records)
