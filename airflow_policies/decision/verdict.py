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
from typing import Any

from airflow_policies._config import MAX_INPUT_BYTES, FailureMode
from airflow_policies.decision import metrics
from airflow_policies.decision.breaker import CircuitBreaker
from airflow_policies.decision.log import write_record
from airflow_policies.decision.models import POD_FIELDS, Decision, Mutation
from airflow_policies.decision.record import DecisionRecord, MutationChange, Outcome
from airflow_policies.document.models import InputDocument, document_json
from airflow_policies.exceptions import (
    CircuitOpenError,
    DecisionError,
    InputTooLargeError,
    MalformedDecisionError,
    OpaTimeoutError,
    OpaUnreachableError,
)

__all__ = ["judge", "outcome_of"]

_FAILED: dict[FailureMode, Outcome] = {"closed": "failed_closed", "open": "failed_open"}


def _changes(document: InputDocument, decision: Decision) -> list[MutationChange]:
    """Each mutation with the value it replaces, one change per distinct value before it."""
    tasks = {t.task_id: t for t in document.tasks}
    changes: list[MutationChange] = []
    for m in decision.mutations:
        # The tasks of one mutation grouped by their value before it (keyed by repr: tags are lists).
        by_before: dict[str, tuple[Any, list[str | None]]] = {}
        for task_id in m.task_ids:
            source: Any = document.dag if task_id is None else tasks.get(task_id)
            if source is None:
                raise MalformedDecisionError(
                    f"the decision mutates task {task_id!r}, which DAG {document.dag.dag_id!r} does not have"
                )
            before = _pod_before(source, m) if m.field in POD_FIELDS else getattr(source, m.field, None)
            by_before.setdefault(repr(before), (before, []))[1].append(task_id)
        changes.extend(
            MutationChange(
                rule=m.rule,
                task_ids=task_ids,
                field=m.field,
                before=before,
                after=m.value,
                action=m.action,
                applied=m.applied,
            )
            for before, task_ids in by_before.values()
        )
    return changes


#: The setting of :class:`PodSettings` each pod field mutates.
_POD_SETTING = {
    "pod_namespace": "namespace",
    "pod_service_account": "service_account",
    "pod_node_selector": "node_selector",
    "pod_labels": "labels",
}


def _pod_before(task: Any, mutation: Mutation) -> Any:  # noqa: ANN401 - a TaskInfo; the setting's type
    """What a pod mutation replaces: the setting of the pod it applies to (for a merged object, the keys it sets).

    Only a pod that is decided whole here can be mutated: an operator's, or the executor's final pod; what a
    task's executor_config asks for is mutated in the final pod.
    """
    pods = [pod for pod in task.pods if pod.source != "executor_config"]
    if len(pods) == 0:
        raise MalformedDecisionError(f"the decision sets {mutation.field} of task {task.task_id!r}, which has no pod")
    value = getattr(pods[0], _POD_SETTING[mutation.field])
    return {key: value.get(key) for key in mutation.value} if isinstance(value, dict) else value


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
    answers: Callable[[], bool] | None = None,
) -> DecisionRecord:
    """Decide on one DAG and log the decision before returning it.

    Args:
        document: the input document of the DAG.
        evaluate: the decision function (an :class:`~airflow_policies.decision.opa_client.OpaEvaluator`'s ``evaluate``).
        failure_mode: what the outcome is when no trustworthy decision can be had.
        decision_log: destination of the decision-log line (``stderr``, ``none`` or a file path).
        breaker: fail fast while OPA is known to be down; ``None`` always asks OPA.
        max_input_bytes: a larger input document is not sent; the DAG is undecidable.
        answers: whether OPA itself answers (asked after a timeout); ``None``: a timeout is OPA's.

    A failure the document caused (over ``max_input_bytes``, or a timeout while OPA itself answers) is
    charged to that document alone: it fails closed whatever ``failure_mode`` says, because its author (a DAG
    file, or a task naming thousands of things in one call) can make it so, and it leaves the breaker, which
    every process of the host shares, as it was.
    """
    started = time.perf_counter()
    payload = document_json(document)
    decision: Decision | None = None
    changes: list[MutationChange] = []
    error: str | None = None
    charged_to_document = False
    try:
        if len(payload) > max_input_bytes:
            raise InputTooLargeError(
                f"the input document of DAG '{document.dag.dag_id}' is {len(payload) / 1e6:.1f} MB "
                f"({len(document.tasks)} tasks), over the limit of {max_input_bytes / 1e6:.1f} MB; split the DAG, or "
                "raise AIRFLOW__AIRFLOW_POLICIES__MAX_INPUT_BYTES (and OPA's memory with it)"
            )
        if breaker is not None:
            breaker.before_call()
        answer = evaluate(document)
        changes = _changes(document, answer)
        decision = answer
    except CircuitOpenError as exc:
        error = str(exc)
    except OpaTimeoutError as exc:
        error = str(exc)
        if answers is not None and answers():
            charged_to_document = True
            error += f"; OPA answers other requests, so this document ({len(payload) / 1e3:.0f} kB) is what is slow"
            if breaker is not None:
                breaker.record_success()
        elif breaker is not None:
            breaker.record_failure(error, slow=True)
    except OpaUnreachableError as exc:
        error = str(exc)
        if breaker is not None:
            breaker.record_failure(error, slow=False)
    except InputTooLargeError as exc:
        error = str(exc)
        charged_to_document = True
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
        timestamp=datetime.datetime.now(datetime.timezone.utc),
        enforcement_point=document.enforcement_point,
        bundle=document.bundle.name,
        team=document.bundle.team,
        dag_id=document.dag.dag_id,
        fileloc=document.dag.relative_fileloc,
        input_hash="sha256:" + hashlib.sha256(payload).hexdigest(),
        policy_revision=decision.policy_revision or None if decision else None,
        outcome=outcome_of(decision) if decision else _FAILED["closed" if charged_to_document else failure_mode],
        violations=decision.violations if decision else [],
        exceptions_applied=[v.exception.id for v in decision.violations if v.exception] if decision else [],
        mutations=changes,
        error=error,
        latency_ms=round(latency_ms, 3),
    )
    write_record(record, decision_log)
    metrics.emit(record, breaker_open=breaker.is_open if breaker is not None else None)
    return record
