"""Metrics go through Airflow's own stats module, to whatever backend Airflow initialised."""

from __future__ import annotations

import pendulum
import pytest
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from airflow.sdk.observability import stats

from airflow_policies.decision.breaker import CircuitBreaker
from airflow_policies.decision.models import parse_decision
from airflow_policies.decision.verdict import judge
from airflow_policies.document.builder import build_input
from airflow_policies.document.models import BundleInfo
from airflow_policies.exceptions import OpaUnreachableError


class RecordingStats:
    """A stats backend, as Airflow's statsd / OpenTelemetry loggers are, that keeps what it is sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, object, dict]] = []

    def incr(self, stat, count=1, rate=1, *, tags=None):
        self.sent.append(("incr", stat, count, tags or {}))

    def gauge(self, stat, value, rate=1, delta=False, *, tags=None):
        self.sent.append(("gauge", stat, value, tags or {}))

    def timing(self, stat, dt, *, tags=None):
        self.sent.append(("timing", stat, dt, tags or {}))


@pytest.fixture
def backend():
    recording = RecordingStats()
    stats.initialize(factory=lambda: recording, export_legacy_names=False)
    yield recording
    stats.initialize(factory=None, export_legacy_names=True)


def _document():
    with DAG("team_a__d", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as dag:
        EmptyOperator(task_id="t")
    return build_input(dag, bundle=BundleInfo(name="b", team="team_a"), enforcement_point="dag_processor")


def _names(backend: RecordingStats) -> list[str]:
    return [stat for _, stat, _, _ in backend.sent]


def test_decision_findings_mutations_and_latency(backend, tmp_path):
    """A decision is counted by outcome, each finding by rule and effect, mutations by count; it is timed."""
    answer = {
        "violations": [
            {"rule": "pools.foreign_pool", "task_id": "t", "message": "m", "action": "warn"},
            {"rule": "queues.foreign_queue", "task_id": "t", "message": "m", "action": "dryrun"},
        ],
        "mutations": [
            {"rule": "routing.team_queue", "task_ids": ["t"], "field": "queue", "value": "q", "action": "deny"}
        ],
        "policy_revision": "",
    }
    decision = parse_decision({"result": answer}, source="t")
    breaker = CircuitBreaker(tmp_path / "breaker.json", 30)
    judge(_document(), lambda _: decision, failure_mode="closed", decision_log="none", breaker=breaker)
    assert _names(backend) == [
        "airflow_policies.decisions",
        "airflow_policies.decisions.warned",
        "airflow_policies.findings",
        "airflow_policies.findings.warn.pools.foreign_pool",
        "airflow_policies.findings",
        "airflow_policies.findings.dryrun.queues.foreign_queue",
        "airflow_policies.mutations",
        "airflow_policies.breaker_open",
        "airflow_policies.latency",
    ]
    finding = backend.sent[2]
    assert finding[3] == {
        "team": "team_a",
        "enforcement_point": "dag_processor",
        "rule": "pools.foreign_pool",
        "effect": "warn",
    }
    assert backend.sent[7][:3] == ("gauge", "airflow_policies.breaker_open", 0)


def test_errors_and_an_open_breaker_are_counted(backend, tmp_path):
    """A failure counts as an error, and the breaker it opened shows in the gauge."""

    def unreachable(_):
        raise OpaUnreachableError("down")

    breaker = CircuitBreaker(tmp_path / "breaker.json", 30)
    judge(_document(), unreachable, failure_mode="closed", decision_log="none", breaker=breaker)
    assert "airflow_policies.errors" in _names(backend)
    assert ("gauge", "airflow_policies.breaker_open", 1) in [entry[:3] for entry in backend.sent]
    assert "airflow_policies.decisions.failed_closed" in _names(backend)
