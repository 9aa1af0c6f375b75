"""Browsing the landing zone and inferring a file's schema for the editor."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.STUDIO_DATA_DIR = tmp_path
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "orders.csv").write_text(
        "order_id,amount,placed_at,note\n1,10.50,2026-01-02 10:00:00,\n2,,2026-01-03 11:30:00,hi\n"
    )
    return tmp_path


def test_list_files(api: APIClient, data_dir: Path) -> None:
    files = api.get("/api/files/").json()["files"]
    assert [f["path"] for f in files] == ["landing/orders.csv"]


def test_infer_csv_schema_with_sample(api: APIClient, data_dir: Path) -> None:
    body = api.post("/api/files/schema/", {"path": "landing/*.csv", "format": "csv", "options": {"header": True}},
                    format="json").json()
    assert [(f["name"], f["type"]) for f in body["schema"]] == [
        ("order_id", "bigint"), ("amount", "double"), ("placed_at", "timestamp"), ("note", "string")]
    assert body["sample"][1]["amount"] is None
    assert len(body["sample"]) == 2


def test_paths_outside_the_data_folder_are_refused(api: APIClient, data_dir: Path) -> None:
    response = api.post("/api/files/schema/", {"path": "../../etc/passwd", "format": "csv"}, format="json")
    assert response.status_code == 400
    assert "outside the data folder" in str(response.json()["detail"])
    assert api.get("/api/files/?prefix=../").status_code == 400


def test_missing_and_unreadable_files_are_clear_errors(api: APIClient, data_dir: Path) -> None:
    missing = api.post("/api/files/schema/", {"path": "landing/none*.csv", "format": "csv"}, format="json")
    assert missing.status_code == 400 and "No file matches" in str(missing.json()["detail"])
    unreadable = api.post("/api/files/schema/", {"path": "landing/orders.csv", "format": "parquet"}, format="json")
    assert unreadable.status_code == 400 and "Could not read" in str(unreadable.json()["detail"])
