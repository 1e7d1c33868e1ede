"""The verdict on one DAG, shared by every enforcement point.

:func:`judge` asks for the decision (through the circuit breaker), turns it, or the failure to get one,
into a :class:`DecisionRecord`, writes that record to the decision log and to Airflow's metrics, and
only then returns it, so nothing is lost when the caller goes on to reject the DAG.
"""

from __future__ import annotations

import datetime
import hashlib
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from airflow_policies import _metrics
from airflow_policies._breaker import CircuitBreaker
from airflow_policies._config import MAX_INPUT_BYTES, FailureMode
from airflow_policies.decision import Decision, Violation
from airflow_policies.decision_log import write_record
from airflow_policies.document import EnforcementPoint, InputDocument
from airflow_policies.exceptions import (
    CircuitOpenError,
    DecisionError,
    InputTooLargeError,
    MalformedDecisionError,
    OpaTimeoutError,
    OpaUnreachableError,
)

__all__ = ["DecisionRecord", "MutationChange", "Outcome", "judge", "outcome_of"]

#: What happened to the DAG. ``failed_*``: no trustworthy decision; closed rejects, open admits.
Outcome = Literal["admitted", "mutated", "warned", "rejected", "failed_closed", "failed_open"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MutationChange(_Model):
    """One field the policy sets, with its value before and after; dryrun changes are not applied."""

    rule: str
    task_id: str | None
    field: str
    before: Any
    after: Any
    action: Literal["deny", "warn", "dryrun"]
    applied: bool


class DecisionRecord(_Model):
    """One decision-log line: everything needed to explain, later, what happened to one DAG and why."""

    event: Literal["airflow_policies.decision"] = "airflow_policies.decision"
    decision_id: str
    timestamp: datetime.datetime
    enforcement_point: EnforcementPoint
    bundle: str | None
    team: str | None
    dag_id: str
    fileloc: str | None
    input_hash: str
    policy_revision: str | None
    outcome: Outcome
    violations: list[Violation]
    exceptions_applied: list[str]
    mutations: list[MutationChange]
    error: str | None
    latency_ms: float

    @property
    def decided(self) -> bool:
        """Whether OPA gave a decision (a ``failed_*`` outcome is only the failure mode's)."""
        return self.outcome not in ("failed_closed", "failed_open")

    @property
    def admitted(self) -> bool:
        """Whether the DAG goes on (possibly mutated or warned about)."""
        return self.outcome not in ("rejected", "failed_closed")


def _changes(document: InputDocument, decision: Decision) -> list[MutationChange]:
    tasks = {t.task_id: t for t in document.tasks}
    changes = []
    for m in decision.mutations:
        source: Any = document.dag if m.task_id is None else tasks.get(m.task_id)
        if source is None:
            raise MalformedDecisionError(
                f"the decision mutates task {m.task_id!r}, which DAG {document.dag.dag_id!r} does not have"
            )
        changes.append(
            MutationChange(
                rule=m.rule,
                task_id=m.task_id,
                field=m.field,
                before=getattr(source, m.field, None),
                after=m.value,
                action=m.action,
                applied=m.applied,
            )
        )
    return changes


def outcome_of(decision: Decision) -> Outcome:
    """What the decision does to the DAG (for a decision that was had)."""
    if decision.rejected:
        return "rejected"
    if decision.with_effect("warn") or any(m.applied and m.action == "warn" for m in decision.mutations):
        return "warned"
    return "mutated" if decision.applied_mutations else "admitted"


def judge(
    document: InputDocument,
    evaluate: Callable[[InputDocument], Decision],
    *,
    failure_mode: FailureMode,
    decision_log: str,
    breaker: CircuitBreaker | None = None,
    max_input_bytes: int = MAX_INPUT_BYTES,
) -> DecisionRecord:
    """Decide on one DAG and log the decision before returning it.

    Args:
        document: the input document of the DAG.
        evaluate: the decision function (an :class:`~airflow_policies._opa.OpaEvaluator`'s ``evaluate``).
        failure_mode: what the outcome is when no trustworthy decision can be had.
        decision_log: destination of the decision-log line (``stderr``, ``none`` or a file path).
        breaker: fail fast while OPA is known to be down; ``None`` always asks OPA.
        max_input_bytes: a larger input document is not sent; the DAG is undecidable.
    """
    started = time.perf_counter()
    payload = document.model_dump_json()
    decision: Decision | None = None
    changes: list[MutationChange] = []
    error: str | None = None
    try:
        if len(payload) > max_input_bytes:
            raise InputTooLargeError(
                f"the input document of DAG '{document.dag.dag_id}' is {len(payload) / 1e6:.1f} MB "
                f"({len(document.tasks)} tasks), over the limit of {max_input_bytes / 1e6:.1f} MB; split the DAG, or "
                "raise AIRFLOW_POLICIES_MAX_INPUT_BYTES (and OPA's memory with it)"
            )
        if breaker is not None:
            breaker.before_call()
        answer = evaluate(document)
        changes = _changes(document, answer)
        decision = answer
    except CircuitOpenError as exc:
        error = str(exc)
    except OpaUnreachableError as exc:
        error = str(exc)
        if breaker is not None:
            breaker.record_failure(error, slow=isinstance(exc, OpaTimeoutError))
    except DecisionError as exc:
        # OPA answered (an HTTP error, or not a decision), so it is up: failing fast would not save time.
        error = str(exc)
        if breaker is not None:
            breaker.record_success()
    else:
        if breaker is not None:
            breaker.record_success()
    latency_ms = (time.perf_counter() - started) * 1000
    record = DecisionRecord(
        decision_id=str(uuid.uuid4()),
        timestamp=datetime.datetime.now(datetime.UTC),
        enforcement_point=document.enforcement_point,
        bundle=document.bundle.name,
        team=document.bundle.team,
        dag_id=document.dag.dag_id,
        fileloc=document.dag.relative_fileloc,
        input_hash="sha256:" + hashlib.sha256(payload.encode()).hexdigest(),
        policy_revision=decision.policy_revision or None if decision else None,
        outcome=outcome_of(decision) if decision else f"failed_{failure_mode}",
        violations=decision.violations if decision else [],
        exceptions_applied=[v.exception.id for v in decision.violations if v.exception] if decision else [],
        mutations=changes,
        error=error,
        latency_ms=round(latency_ms, 3),
    )
    write_record(record, decision_log)
    _metrics.emit(record, breaker_open=breaker.is_open if breaker is not None else None)
    return record
