"""The decision log's files: one open file per destination, closed on request, reopened for the next record."""

from __future__ import annotations

import json

from airflow_policies.decision import log


def test_a_closed_decision_log_is_reopened_and_appended_to(tmp_path):
    destination = str(tmp_path / "decisions.jsonl")
    log.decision_logger(destination).info("first")
    stream = log._FILES[destination]
    log.close_decision_logs()
    assert stream.closed and not log._FILES
    log.decision_logger(destination).info("second")
    log.close_decision_logs()
    lines = [json.loads(line)["event"] for line in (tmp_path / "decisions.jsonl").read_text().splitlines()]
    assert lines == ["first", "second"]
