"""OpenLineage: START and COMPLETE / FAIL / ABORT events for runs, sent by openlineage-python through
the configured transport (file, http, console, off), stored with the run, and valid against the
OpenLineage JSON Schemas (core and every facet, each by its `_schemaURL`; no network)."""
from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from rest_framework.test import APIClient

from runners.output import NodeMetric
from studio.lineage.models import OpenLineageEvent
from studio.runs import services as runs
from studio.runs.models import RunStatus
from tests.studio.documents import filter_pipeline
from tests.studio.test_openapi import Contract, contract, schema  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db(transaction=True)

SPEC = Path(__file__).resolve().parent / "openlineage_spec"
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


# --- validation against the spec -----------------------------------------------------------------------


def _registry() -> Registry:
    resources = [Resource.from_contents(json.loads(p.read_text())) for p in sorted(SPEC.rglob("*.json"))]
    return Registry().with_resources((r.id(), r) for r in resources)


_FORMATS = FormatChecker()


@_FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    # RFC 3339: a date, a time and an offset.
    return not isinstance(value, str) or ("T" in value.upper() and datetime.fromisoformat(value).tzinfo is not None)


@_FORMATS.checks("uri", raises=ValueError)
def _uri(value: object) -> bool:
    return not isinstance(value, str) or bool(urlparse(value).scheme)


def _facets(event: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from (("run." + k, v) for k, v in (event["run"].get("facets") or {}).items())
    yield from (("job." + k, v) for k, v in (event["job"].get("facets") or {}).items())
    for side, extra in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        for dataset in event.get(side) or []:
            for group in ("facets", extra):
                yield from ((f"{side}[{dataset['name']}].{k}", v) for k, v in (dataset.get(group) or {}).items())


def spec_errors(event: dict[str, Any]) -> list[str]:
    """Every way the event breaks the OpenLineage spec: the RunEvent schema, then each facet against
    the schema its `_schemaURL` names (a facet whose schema is unknown is an error too)."""
    registry = _registry()

    def check(where: str, url: str, value: Any) -> list[str]:
        try:
            resolved = registry.resolver().lookup(url)
        except Exception:  # noqa: BLE001 - any unresolvable reference is a finding
            return [f"{where}: no schema for {url}"]
        validator = Draft202012Validator(resolved.contents, registry=resolved.resolver._registry,
                                         format_checker=_FORMATS)
        # Resolve the subschema's relative references against its own document.
        validator = validator.evolve(schema={"$ref": url})
        return [f"{where}/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(value)]

    errors = check("event", event.get("schemaURL", RUN_EVENT), event)
    if event.get("schemaURL") != RUN_EVENT:
        errors.append(f"schemaURL is {event.get('schemaURL')!r}, not the RunEvent of spec 2-0-2")
    for where, facet in _facets(event):
        errors += check(where, facet.get("_schemaURL", ""), facet)
    return errors


def test_the_spec_check_finds_what_is_wrong() -> None:
    good = {
        "eventType": "START", "eventTime": "2026-01-01T10:00:00+00:00", "producer": "https://example.com/p",
        "schemaURL": RUN_EVENT, "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "n", "name": "j"},
        "inputs": [], "outputs": [],
    }
    assert spec_errors(good) == []
    assert any("runId" in e for e in spec_errors({**good, "run": {}}))
    assert any("'DONE' is not one of" in e for e in spec_errors({**good, "eventType": "DONE"}))
    assert any("is not a 'uuid'" in e for e in spec_errors({**good, "run": {"runId": "run-1"}}))
    assert any("is not a 'date-time'" in e for e in spec_errors({**good, "eventTime": "2026-01-01"}))
    facet = {"_producer": "https://example.com/p",
             "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"}
    assert any("'message' is a required property" in e
               for e in spec_errors({**good, "run": {"runId": str(uuid.uuid4()), "facets": {"errorMessage": facet}}}))
    unknown = {**facet, "_schemaURL": "https://openlineage.io/spec/facets/9-9-9/Nope.json#/$defs/Nope"}
    assert any("no schema for" in e
               for e in spec_errors({**good, "run": {"runId": str(uuid.uuid4()), "facets": {"x": unknown}}}))


# --- events of runs ----------------------------------------------------------------------------------


@pytest.fixture
def events_file(settings: Any, tmp_path: Path) -> Path:
    settings.STUDIO_DATA_DIR = tmp_path / "data"
    settings.OPENLINEAGE_TRANSPORT = "file"
    settings.OPENLINEAGE_FILE = str(tmp_path / "openlineage" / "events.jsonl")
    settings.OPENLINEAGE_NAMESPACE = "acme"
    return tmp_path / "openlineage" / "events.jsonl"


def start_run(api: APIClient, document: dict[str, Any] | None = None) -> int:
    pipeline = api.post("/api/pipelines/", {"workspace": "team", "name": "big orders",
                                            "description": "Orders over a threshold",
                                            "document": document or filter_pipeline()}, format="json").json()["id"]
    run_id = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json").json()["id"]
    assert runs.run_claim(run_id=run_id)
    assert runs.run_job_started(run_id=run_id, job_pid=4242)
    return run_id


def sent(api: APIClient, run_id: int, contract: Contract) -> list[dict[str, Any]]:
    return contract(api.get(f"/api/runs/{run_id}/openlineage/"), "get", "/api/runs/{id}/openlineage/")


def test_a_run_sends_start_then_complete_with_schema_column_lineage_and_counts(
    api: APIClient, events_file: Path, contract: Contract
) -> None:
    run_id = start_run(api)
    [start] = sent(api, run_id, contract)
    assert start["event_type"] == "START" and start["transport"] == "file" and start["error"] == ""
    runs.run_record_metrics(run_id=run_id, metrics=[NodeMetric("orders", "out", 4), NodeMetric("out", "in", 2)])
    assert runs.run_transition(run_id=run_id, to_status=RunStatus.SUCCEEDED, reason="done")
    start, complete = sent(api, run_id, contract)
    assert complete["event_type"] == "COMPLETE"
    # The file transport wrote the same events, one JSON object per line.
    lines = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert lines == [start["event"], complete["event"]]
    for event in lines:
        assert spec_errors(event) == []
    event = complete["event"]
    assert event["run"]["runId"] == start["event"]["run"]["runId"]
    assert event["job"] == {**event["job"], "namespace": "acme", "name": "team.big orders"}
    assert event["job"]["facets"]["documentation"]["description"] == "Orders over a threshold"
    assert event["job"]["facets"]["jobType"]["processingType"] == "BATCH"
    assert event["run"]["facets"]["processing_engine"]["name"] == "Spark"
    data = Path(events_file).parent.parent / "data"
    [source] = event["inputs"]
    assert (source["namespace"], source["name"]) == ("file", str((data / "in" / "orders.csv").resolve()))
    assert [f["name"] for f in source["facets"]["schema"]["fields"]] == ["order_id", "amount"]
    assert source["inputFacets"]["inputStatistics"]["rowCount"] == 4
    [sink] = event["outputs"]
    assert sink["name"] == str((data / "out" / "big").resolve())
    assert sink["outputFacets"]["outputStatistics"]["rowCount"] == 2
    lineage = sink["facets"]["columnLineage"]
    assert {column: [(i["field"], i["transformations"][0]["type"], i["transformations"][0]["subtype"])
                     for i in f["inputFields"]] for column, f in lineage["fields"].items()} == {
        "order_id": [("order_id", "DIRECT", "IDENTITY")], "amount": [("amount", "DIRECT", "IDENTITY")]}
    # `amount > ${min_amount}` decides which rows are written.
    assert [(i["field"], i["transformations"][0]["type"], i["transformations"][0]["subtype"])
            for i in lineage["dataset"]] == [("amount", "INDIRECT", "FILTER")]
    assert "outputStatistics" not in start["event"]["outputs"][0].get("outputFacets", {})


def test_a_failed_run_sends_fail_with_its_error(api: APIClient, events_file: Path, contract: Contract) -> None:
    run_id = start_run(api)
    runs.run_transition(run_id=run_id, to_status=RunStatus.FAILED, reason="QualityCheckError: rule x failed",
                        error="QualityCheckError: rule x failed\n\nLast lines of its output:\n...")
    start, fail = sent(api, run_id, contract)
    assert fail["event_type"] == "FAIL" and spec_errors(fail["event"]) == []
    error = fail["event"]["run"]["facets"]["errorMessage"]
    assert error["message"] == "QualityCheckError: rule x failed" and error["programmingLanguage"] == "python"
    assert "Last lines of its output" in error["stackTrace"]


def test_a_cancelled_run_sends_abort(api: APIClient, events_file: Path, contract: Contract) -> None:
    run_id = start_run(api)
    assert api.post(f"/api/runs/{run_id}/cancel/").status_code == 202
    runs.run_transition(run_id=run_id, to_status=RunStatus.CANCELLED, reason="Cancelled while running.")
    assert [e["event_type"] for e in sent(api, run_id, contract)] == ["START", "ABORT"]
    assert spec_errors(sent(api, run_id, contract)[1]["event"]) == []


def test_a_run_that_never_started_sends_nothing(api: APIClient, events_file: Path, contract: Contract) -> None:
    pipeline = api.post("/api/pipelines/", {"workspace": "team", "name": "p", "document": filter_pipeline()},
                        format="json").json()["id"]
    run_id = api.post(f"/api/pipelines/{pipeline}/runs/", {}, format="json").json()["id"]
    api.post(f"/api/runs/{run_id}/cancel/")
    assert sent(api, run_id, contract) == [] and not events_file.exists()


class _Consumer(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], dict[str, Any]]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Consumer.received.append((self.path, dict(self.headers), body))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def consumer() -> Iterator[str]:
    _Consumer.received = []
    server = HTTPServer(("127.0.0.1", 0), _Consumer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_the_http_transport_posts_events_to_a_consumer_with_its_api_key(
    api: APIClient, events_file: Path, consumer: str, settings: Any, contract: Contract
) -> None:
    settings.OPENLINEAGE_TRANSPORT = "http"
    settings.OPENLINEAGE_URL = consumer
    settings.OPENLINEAGE_ENDPOINT = "api/v1/lineage"
    settings.OPENLINEAGE_API_KEY = "s3cret-key"
    run_id = start_run(api)
    runs.run_transition(run_id=run_id, to_status=RunStatus.SUCCEEDED, reason="done")
    assert [(path, body["eventType"]) for path, _, body in _Consumer.received] == [
        ("/api/v1/lineage", "START"), ("/api/v1/lineage", "COMPLETE")]
    assert all(headers["Authorization"] == "Bearer s3cret-key" for _, headers, _ in _Consumer.received)
    stored = sent(api, run_id, contract)
    assert [e["event"] for e in stored] == [body for _, _, body in _Consumer.received]
    assert all(e["transport"] == "http" and e["error"] == "" for e in stored)
    assert "s3cret-key" not in json.dumps(stored) and not events_file.exists()


def test_an_unreachable_consumer_is_recorded_and_the_run_is_unaffected(
    api: APIClient, events_file: Path, settings: Any, contract: Contract
) -> None:
    settings.OPENLINEAGE_TRANSPORT = "http"
    settings.OPENLINEAGE_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    run_id = start_run(api)
    runs.run_transition(run_id=run_id, to_status=RunStatus.SUCCEEDED, reason="done")
    assert api.get(f"/api/runs/{run_id}/").json()["status"] == "succeeded"
    stored = sent(api, run_id, contract)
    assert [e["event_type"] for e in stored] == ["START", "COMPLETE"]
    assert all(e["error"].startswith("The http transport could not send it") for e in stored)


def test_the_transport_can_be_turned_off(api: APIClient, events_file: Path, settings: Any, contract: Contract) -> None:
    settings.OPENLINEAGE_TRANSPORT = "off"
    run_id = start_run(api)
    runs.run_transition(run_id=run_id, to_status=RunStatus.SUCCEEDED, reason="done")
    assert sent(api, run_id, contract) == [] and not events_file.exists()
    assert OpenLineageEvent.objects.count() == 0
    # Lineage is still recorded: only the events are off.
    assert api.get(f"/api/runs/{run_id}/lineage/").status_code == 200
