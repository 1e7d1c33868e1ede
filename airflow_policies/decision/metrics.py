"""Metrics through Airflow's own stats module (``Stats``), so they go wherever Airflow's statsd / OpenTelemetry points.

Each counter is emitted with tags (for OpenTelemetry and tag-aware statsd) and, for plain statsd, under a
legacy-style name that carries the rule id, as Airflow does for its own per-DAG metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_policies.decision.record import DecisionRecord

__all__ = ["emit"]

PREFIX = "airflow_policies"


def emit(record: DecisionRecord, *, breaker_open: bool | None) -> None:
    """Count the decision, its findings by rule and effect, its mutations and errors; time it."""
    from airflow.sdk.observability import stats

    tags = {"team": record.team or "none", "enforcement_point": record.enforcement_point}
    stats.incr(f"{PREFIX}.decisions", tags=tags | {"outcome": record.outcome})
    stats.incr(f"{PREFIX}.decisions.{record.outcome}", tags=tags)
    for violation in record.violations:
        stats.incr(f"{PREFIX}.findings", tags=tags | {"rule": violation.rule, "effect": violation.effect})
        stats.incr(f"{PREFIX}.findings.{violation.effect}.{violation.rule}", tags=tags)
    applied = sum(len(m.task_ids) for m in record.mutations if m.applied)
    if applied:
        stats.incr(f"{PREFIX}.mutations", count=applied, tags=tags)
    if record.error is not None:
        stats.incr(f"{PREFIX}.errors", tags=tags)
    if breaker_open is not None:
        stats.gauge(f"{PREFIX}.breaker_open", int(breaker_open), tags=tags)
    stats.timing(f"{PREFIX}.latency", record.latency_ms, tags=tags)
