"""A temporary Iceberg lakehouse for tests: a SQLite catalog and a warehouse folder, handed to the
connectors through the environment (runners/connectors/config.py)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any


class Lakehouse:
    """A temporary SQLite catalog and warehouse folder, exported through the environment."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.catalog_uri = f"sqlite:///{root / 'catalog.sqlite3'}"
        self.warehouse = f"file://{root / 'warehouse'}"

    def env(self) -> dict[str, str]:
        return {"ICEBERG_CATALOG_URI": self.catalog_uri, "ICEBERG_WAREHOUSE": self.warehouse}

    def export(self) -> None:
        os.environ.update(self.env())

    def catalog(self) -> Any:
        from runners.connectors.config import load_catalog

        self.export()
        return load_catalog()

    def table(self, name: str) -> Any:
        return self.catalog().load_table(name)
