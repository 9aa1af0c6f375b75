"""Reading a job's output: node metrics, quality results, structured and plain log lines."""
from __future__ import annotations

import pytest

from runners.output import LogLine, NodeMetric, QualityResult, parse_line


def test_metric_lines_become_node_metrics_and_quality_results() -> None:
    assert parse_line('STUDIO_METRIC {"node": "orders", "port": "out", "rows": 4}\n') == NodeMetric(
        node="orders", port="out", rows=4)
    assert parse_line('STUDIO_METRIC {"node": "big", "port": "out", "rows": 2, "batch": 7, "duration_ms": 35}') == (
        NodeMetric(node="big", port="out", rows=2, batch=7, duration_ms=35))
    assert parse_line('  STUDIO_METRIC {"node": "q", "rule": "amount_positive", "passed": 9, "failed": 1}') == (
        QualityResult(node="q", rule="amount_positive", passed=9, failed=1))


@pytest.mark.parametrize("line, problem", [
    ("STUDIO_METRIC {not json", "not JSON"),
    ('STUDIO_METRIC ["node"]', "not a JSON object"),
    ('STUDIO_METRIC {"port": "out", "rows": 1}', '"node"'),
    ('STUDIO_METRIC {"node": "a", "port": "out", "rows": -1}', '"rows"'),
    ('STUDIO_METRIC {"node": "a", "port": "out", "rows": true}', '"rows"'),
    ('STUDIO_METRIC {"node": "a", "port": "out", "rows": 1, "batch": "x"}', '"batch"'),
    ('STUDIO_LOG {"level": "error"}', '"message"'),
])
def test_a_malformed_structured_line_is_kept_as_a_warning_that_says_why(line: str, problem: str) -> None:
    parsed = parse_line(line)
    assert isinstance(parsed, LogLine) and parsed.level == "warning"
    assert parsed.text.startswith(line) and problem in parsed.text


def test_structured_log_lines_keep_their_level_and_plain_lines_get_one_guessed() -> None:
    assert parse_line('STUDIO_LOG {"level": "warn", "message": "late data dropped"}') == LogLine(
        "late data dropped", "warning")
    assert parse_line('STUDIO_LOG {"level": "ERROR", "message": "sink refused"}') == LogLine("sink refused", "error")
    assert parse_line('STUDIO_LOG {"level": "debug", "message": "x"}').level == "info"
    assert parse_line("26/01/02 10:00:00 WARN NativeCodeLoader: no native").level == "warning"
    assert parse_line("Traceback (most recent call last):").level == "error"
    assert parse_line("read 4 rows") == LogLine("read 4 rows", "info")


def test_alert_lines_become_alerts_and_bad_ones_say_why() -> None:
    from runners.output import Alert

    assert parse_line('STUDIO_ALERT {"node": "big", "severity": "critical", "message": "order 7 is huge"}') == (
        Alert(node="big", severity="critical", message="order 7 is huge"))
    assert parse_line('STUDIO_ALERT {"node": "big", "severity": "info", "message": null}') == (
        Alert(node="big", severity="info", message=""))
    long = parse_line('STUDIO_ALERT {"node": "n", "severity": "info", "message": "' + "x" * 20_000 + '"}')
    assert isinstance(long, Alert) and len(long.message) == 10_000
    for line, problem in [('STUDIO_ALERT {"node": "n", "severity": "loud", "message": "m"}', '"severity"'),
                          ('STUDIO_ALERT {"node": "n", "severity": "info", "message": 3}', '"message"'),
                          ('STUDIO_ALERT {"severity": "info", "message": "m"}', '"node"')]:
        parsed = parse_line(line)
        assert isinstance(parsed, LogLine) and parsed.level == "warning" and problem in parsed.text


def test_a_sources_lag_is_its_own_metric() -> None:
    from runners.output import SourceLag

    assert parse_line('STUDIO_METRIC {"node": "events", "lag": 1200, "batch": 4}') == SourceLag(
        node="events", lag=1200, batch=4)
    bad = parse_line('STUDIO_METRIC {"node": "events", "lag": -1}')
    assert isinstance(bad, LogLine) and '"lag"' in bad.text


def test_progress_lines_become_the_jobs_progress_and_bad_ones_say_why() -> None:
    from runners.output import JobProgress

    assert parse_line('STUDIO_PROGRESS {"tasks_done": 3, "tasks_total": 8, "stage": 2}\n') == JobProgress(
        tasks_done=3, tasks_total=8, stage=2)
    assert parse_line('STUDIO_PROGRESS {"tasks_done": 8, "tasks_total": 8, "stage": null}') == JobProgress(8, 8)
    assert parse_line('STUDIO_PROGRESS {"tasks_done": 0, "tasks_total": 0}') == JobProgress(0, 0)
    for line, problem in [('STUDIO_PROGRESS {"tasks_done": 9, "tasks_total": 8}', "must not exceed"),
                          ('STUDIO_PROGRESS {"tasks_done": -1, "tasks_total": 8}', '"tasks_done"'),
                          ('STUDIO_PROGRESS {"tasks_done": 1}', '"tasks_total"'),
                          ('STUDIO_PROGRESS {"tasks_done": 1, "tasks_total": 2, "stage": "x"}', '"stage"'),
                          ("STUDIO_PROGRESS 7", "not a JSON object")]:
        parsed = parse_line(line)
        assert isinstance(parsed, LogLine) and parsed.level == "warning" and problem in parsed.text, parsed
