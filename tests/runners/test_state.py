"""A deployment's state: which Flink state a run restores from, and which upgrades the state of an
older version can serve."""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from runners.state import compatibility, newest_flink_state, state_plan

BASE: dict[str, Any] = {
    "format": "studio.pipeline/v1", "name": "p", "mode": "streaming",
    "nodes": [
        {"id": "events", "type": "source.file", "config": {"path": "in", "format": "json", "streaming": True}},
        {"id": "valid", "type": "transform.filter", "config": {"condition": "n > 0"}, "label": "Valid"},
        {"id": "totals", "type": "transform.aggregate", "config": {"group_by": ["k"], "aggregations": []}},
        {"id": "raw", "type": "sink.file", "config": {"path": "raw", "format": "json", "mode": "append"}},
        {"id": "sums", "type": "sink.file", "config": {"path": "sums", "format": "json", "mode": "append"}},
    ],
    "edges": [
        {"from": {"node": "events", "port": "out"}, "to": {"node": "valid", "port": "in"}},
        {"from": {"node": "events", "port": "out"}, "to": {"node": "raw", "port": "in"}},
        {"from": {"node": "valid", "port": "out"}, "to": {"node": "totals", "port": "in"}},
        {"from": {"node": "totals", "port": "out"}, "to": {"node": "sums", "port": "in"}},
    ],
}


def changed(**configs: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(BASE)
    for node in document["nodes"]:
        node["config"].update(configs.get(node["id"], {}))
    return document


def test_labels_positions_and_sinks_may_change() -> None:
    document = changed(raw={"path": "raw2"})
    document["nodes"][1]["label"] = "Only valid"
    document["nodes"][1]["position"] = {"x": 1, "y": 2}
    assert compatibility(BASE, document).problems == []


def test_a_filter_feeding_no_state_may_change_but_one_feeding_an_aggregate_may_not() -> None:
    # `valid` feeds `totals` (stateful), so changing it changes what the aggregate's state means.
    result = compatibility(BASE, changed(valid={"condition": "n > 1"}))
    assert [p for p in result.problems if "'totals'" in p and "'valid'" in p]
    free = copy.deepcopy(BASE)
    free["nodes"].insert(3, {"id": "recent", "type": "transform.filter", "config": {"condition": "n < 9"}})
    free["edges"][1] = {"from": {"node": "events", "port": "out"}, "to": {"node": "recent", "port": "in"}}
    free["edges"].append({"from": {"node": "recent", "port": "out"}, "to": {"node": "raw", "port": "in"}})
    assert compatibility(BASE, free).compatible


def test_sources_and_stateful_nodes_must_stay_as_they_were() -> None:
    assert "Source 'events' changed" in compatibility(BASE, changed(events={"path": "in2"})).problems[0]
    grouped = compatibility(BASE, changed(totals={"group_by": ["k", "j"]})).problems
    assert len(grouped) == 1 and "'totals'" in grouped[0]
    removed = copy.deepcopy(BASE)
    removed["nodes"] = [n for n in removed["nodes"] if n["id"] not in ("totals", "sums")]
    removed["edges"] = removed["edges"][:3]
    assert "Stateful node 'totals' was removed" in compatibility(BASE, removed).problems[0]


def test_a_new_sink_is_noted() -> None:
    document = copy.deepcopy(BASE)
    document["nodes"].append({"id": "copy", "type": "sink.file", "config": {"path": "c", "format": "json"}})
    document["edges"].append({"from": {"node": "events", "port": "out"}, "to": {"node": "copy", "port": "in"}})
    result = compatibility(BASE, document)
    assert result.compatible and "Sink 'copy' is new" in result.notes[0]


def _metadata(folder: Path, mtime: int) -> None:
    folder.mkdir(parents=True)
    (folder / "_metadata").write_bytes(b"x")
    os.utime(folder / "_metadata", (mtime, mtime))


def test_flink_restores_from_the_newest_complete_checkpoint_or_savepoint(tmp_path: Path) -> None:
    plan = state_plan(tmp_path / "state", engine="flink")
    assert plan.restore_from is None and plan.checkpoints.is_dir() and plan.savepoints.is_dir()
    _metadata(plan.checkpoints / "job1" / "chk-4", 1_000)
    _metadata(plan.savepoints / "savepoint-ab12", 2_000)
    (plan.checkpoints / "job2" / "chk-9").mkdir(parents=True)  # being written: no _metadata yet
    assert newest_flink_state(tmp_path / "state") == str(plan.savepoints / "savepoint-ab12")
    _metadata(plan.checkpoints / "job2" / "chk-10", 3_000)
    assert state_plan(tmp_path / "state", engine="flink").restore_from == str(plan.checkpoints / "job2" / "chk-10")
    assert state_plan(tmp_path / "state", engine="spark").restore_from is None
