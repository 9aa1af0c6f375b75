"""A dataset's identity: the compiler's dataset names normalised into (kind, namespace, name).

Two pipelines that touch the same data must land on the same catalog entry, however they spell it:

- file: `./landing//orders/` and `landing/orders` are one location; a glob is cut at its first
  wildcard component (`out/big/*.parquet` -> `out/big`, the folder a sink writes); an absolute path
  inside the data folder becomes relative to it; `s3://bucket/key` has the namespace `s3://bucket`.
- kafka: the topic, in the namespace of its connection (`default`: the studio's broker).
- iceberg: `namespace.table`, in the studio's catalog.

Pure functions; nothing here touches the database.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DatasetKey", "IdentityError", "dataset_key", "file_location"]

DEFAULT_KAFKA_NAMESPACE = "default"
ICEBERG_NAMESPACE = "studio"
LOCAL_NAMESPACE = "local"
_GLOB = re.compile(r"[*?\[{]")
_URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class IdentityError(ValueError):
    """A dataset name the catalog cannot place, as a sentence."""


@dataclass(frozen=True, order=True)
class DatasetKey:
    kind: str
    namespace: str
    name: str


def _cut_glob(path: str) -> str:
    parts = [p for p in path.split("/")]
    kept: list[str] = []
    for part in parts:
        if _GLOB.search(part):
            break
        kept.append(part)
    return "/".join(kept)


def file_location(path: str, *, data_dir: Path) -> tuple[str, str]:
    """(namespace, name) of a file path or glob as a sink or source gives it."""
    path = path.strip()
    if not path:
        raise IdentityError("A file dataset needs a path.")
    scheme = _URI.match(path)
    if scheme and scheme.group(1).lower() in {"s3", "s3a", "s3n"}:
        rest = path[scheme.end():]
        bucket, _, key = rest.partition("/")
        if not bucket:
            raise IdentityError(f"'{path}' names no bucket.")
        name = posixpath.normpath("/" + _cut_glob(key)).lstrip("/")
        return f"s3://{bucket}", name or "."
    if scheme and scheme.group(1).lower() == "file":
        path = path[len("file://"):]
    elif scheme:
        raise IdentityError(f"'{path}' uses a storage the catalog does not know ({scheme.group(1)}://).")
    location = _cut_glob(path)
    if path.startswith("/"):
        absolute = posixpath.normpath(location or "/")
        root = str(data_dir.resolve())
        if absolute == root:
            return LOCAL_NAMESPACE, "."
        if absolute.startswith(root + "/"):
            return LOCAL_NAMESPACE, absolute[len(root) + 1:]
        return LOCAL_NAMESPACE, absolute
    name = posixpath.normpath(location) if location else "."
    if name == ".." or name.startswith("../"):
        raise IdentityError(f"'{path}' leaves the data folder.")
    return LOCAL_NAMESPACE, name


def dataset_key(reference: str, *, data_dir: Path, connection: str | None = None) -> DatasetKey:
    """The catalog key of a compiler dataset reference (`file:<path>`, `kafka:<topic>`, `iceberg:<table>`)."""
    kind, sep, rest = reference.partition(":")
    if not sep or not rest.strip():
        raise IdentityError(f"'{reference}' is not a dataset reference (kind:name).")
    if kind == "file":
        namespace, name = file_location(rest, data_dir=data_dir)
        return DatasetKey("file", namespace, name)
    if kind == "kafka":
        return DatasetKey("kafka", (connection or "").strip() or DEFAULT_KAFKA_NAMESPACE, rest.strip())
    if kind == "iceberg":
        return DatasetKey("iceberg", ICEBERG_NAMESPACE, rest.strip())
    raise IdentityError(f"'{reference}' is of an unknown kind '{kind}'.")
