"""What a job prints, read line by line: plain log lines, structured log lines, node metrics and alerts.

Generated jobs print `STUDIO_METRIC {json}` for rows per node port (per micro-batch for a stream, with
`batch`), quality rule results and a source's lag, `STUDIO_ALERT {json}` for each row that reaches a
`sink.alert` node, `STUDIO_PROGRESS {json}` for how far a batch job has got (tasks done out of the
tasks of the stages started so far), and may print `STUDIO_LOG {json}` for a log line with a level. Everything else is
a plain log line whose level is guessed from its text. Pure Python (no Django), shared by the Celery
runner and `run_pipeline`.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Union

__all__ = [
    "ALERT_PREFIX", "LOG_PREFIX", "METRIC_PREFIX", "PROGRESS_PREFIX", "SEVERITIES", "Alert", "JobProgress", "LogLine",
    "NodeMetric", "Output", "QualityResult", "SourceLag", "level_of", "metric_line", "parse_line",
]

METRIC_PREFIX = "STUDIO_METRIC "
LOG_PREFIX = "STUDIO_LOG "
ALERT_PREFIX = "STUDIO_ALERT "
PROGRESS_PREFIX = "STUDIO_PROGRESS "
MAX_NAME = 200
MAX_MESSAGE = 10_000  # characters of an alert message kept; longer ones are cut
SEVERITIES = ("info", "warning", "critical")

_ERROR_LINE = re.compile(r"\b(ERROR|FATAL|Traceback|Exception|Error:)\b")
_WARNING_LINE = re.compile(r"\b(WARN|WARNING)\b")
_LEVELS = {"debug": "info", "info": "info", "notice": "info", "warn": "warning", "warning": "warning",
           "error": "error", "critical": "error", "fatal": "error"}


@dataclass(frozen=True)
class LogLine:
    text: str
    level: str = "info"  # info | warning | error


@dataclass(frozen=True)
class NodeMetric:
    """Rows that went through one port of one node (in one micro-batch, for a stream)."""

    node: str
    port: str
    rows: int
    batch: int | None = None
    duration_ms: int | None = None


@dataclass(frozen=True)
class QualityResult:
    """Rows that passed and failed one quality rule of one node (in one micro-batch, for a stream)."""

    node: str
    rule: str
    passed: int
    failed: int
    batch: int | None = None


@dataclass(frozen=True)
class SourceLag:
    """How far a streaming source is behind the newest data it could read, in records (for Kafka:
    the topic's end offsets minus the offsets read, summed over partitions), after a micro-batch.

    Printed by a source that knows it as `STUDIO_METRIC {"node": ..., "lag": N, "batch": n}`."""

    node: str
    lag: int
    batch: int | None = None


@dataclass(frozen=True)
class Alert:
    """A row that reached a `sink.alert` node: stored, shown live and sent to the webhooks."""

    node: str
    severity: str  # info | warning | critical
    message: str


@dataclass(frozen=True)
class JobProgress:
    """How far a batch job has got, from its engine's own tracker: tasks done out of the tasks of
    the stages started so far (the total grows as stages start), and the newest running stage.

    Printed as `STUDIO_PROGRESS {"tasks_done": N, "tasks_total": M, "stage": S}`; the job prints a
    last one when its work is done."""

    tasks_done: int
    tasks_total: int
    stage: int | None = None


Output = Union[LogLine, NodeMetric, QualityResult, SourceLag, Alert, JobProgress]


def metric_line(values: dict[str, Any]) -> str:
    """A `STUDIO_METRIC` line, as the studio's own connectors print them (generated jobs carry a
    copy of this in their own code)."""
    return METRIC_PREFIX + json.dumps(values)


def level_of(text: str) -> str:
    """The level of a plain line, guessed from words like ERROR, Traceback or WARN."""
    if _ERROR_LINE.search(text):
        return "error"
    if _WARNING_LINE.search(text):
        return "warning"
    return "info"


class _Malformed(ValueError):
    pass


def _name(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > MAX_NAME:
        raise _Malformed(f'"{key}" must be a non-empty string of at most {MAX_NAME} characters')
    return value


def _count(data: dict[str, Any], key: str, *, optional: bool = False) -> int | None:
    value = data.get(key)
    if value is None and optional:
        return None
    # bool is an int in Python; a count of True rows is a bug in the job, not a number.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Malformed(f'"{key}" must be a whole number >= 0')
    return value


def _metric(data: dict[str, Any]) -> NodeMetric | QualityResult | SourceLag:
    node = _name(data, "node")
    batch = _count(data, "batch", optional=True)
    if "lag" in data:
        return SourceLag(node=node, lag=_count(data, "lag") or 0, batch=batch)
    if "rule" in data:
        return QualityResult(node=node, rule=_name(data, "rule"), passed=_count(data, "passed") or 0,
                             failed=_count(data, "failed") or 0, batch=batch)
    return NodeMetric(node=node, port=_name(data, "port"), rows=_count(data, "rows") or 0, batch=batch,
                      duration_ms=_count(data, "duration_ms", optional=True))


def _structured(raw: str, prefix: str) -> dict[str, Any]:
    try:
        data = json.loads(raw.strip()[len(prefix):])
    except json.JSONDecodeError as error:
        raise _Malformed(f"not JSON ({error.msg})") from None
    if not isinstance(data, dict):
        raise _Malformed("not a JSON object")
    return data


def _alert(data: dict[str, Any]) -> Alert:
    severity = data.get("severity")
    if severity not in SEVERITIES:
        raise _Malformed(f'"severity" must be one of {", ".join(SEVERITIES)}')
    message = data.get("message")
    if message is None:
        message = ""
    if not isinstance(message, str):
        raise _Malformed('"message" must be a string')
    return Alert(node=_name(data, "node"), severity=severity, message=message[:MAX_MESSAGE])


def _progress(data: dict[str, Any]) -> JobProgress:
    done, total = _count(data, "tasks_done") or 0, _count(data, "tasks_total") or 0
    if done > total:
        raise _Malformed('"tasks_done" must not exceed "tasks_total"')
    return JobProgress(tasks_done=done, tasks_total=total, stage=_count(data, "stage", optional=True))


def parse_line(raw: str) -> Output:
    """One line of job output as a log line, a node metric, a quality result, a source's lag, an
    alert or the job's progress.

    A malformed structured line is kept as a warning log line saying what is wrong with it, so a
    bug in a job is visible and never silently drops output.
    """
    text = raw.rstrip("\r\n")
    stripped = text.lstrip()
    try:
        if stripped.startswith(METRIC_PREFIX):
            return _metric(_structured(stripped, METRIC_PREFIX))
        if stripped.startswith(ALERT_PREFIX):
            return _alert(_structured(stripped, ALERT_PREFIX))
        if stripped.startswith(PROGRESS_PREFIX):
            return _progress(_structured(stripped, PROGRESS_PREFIX))
        if stripped.startswith(LOG_PREFIX):
            data = _structured(stripped, LOG_PREFIX)
            message = data.get("message")
            if not isinstance(message, str):
                raise _Malformed('"message" must be a string')
            level = _LEVELS.get(str(data.get("level", "info")).lower(), "info")
            return LogLine(text=message, level=level)
    except _Malformed as error:
        return LogLine(text=f"{text}  [not understood: {error}]", level="warning")
    return LogLine(text=text, level=level_of(text))
