"""Snapshot checks of generated code: `UPDATE_SNAPSHOTS=1` rewrites the files, then review the diff."""
from __future__ import annotations

import os
from pathlib import Path


def assert_snapshot(folder: Path, name: str, code: str) -> None:
    path = folder / f"{name}.py"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(code, encoding="utf-8")
    assert path.exists(), f"missing snapshot {path}; run with UPDATE_SNAPSHOTS=1 to create it"
    assert code == path.read_text(encoding="utf-8"), f"generated code differs from {path.name}"
