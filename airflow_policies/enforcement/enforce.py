"""Turn a verdict into an import error, a DAG warning, or mutations of the DAG."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from airflow.exceptions import AirflowClusterPolicyViolation
from airflow.sdk.definitions.mappedoperator import MappedOperator

from airflow_policies.decision.record import DecisionRecord, MutationChange

if TYPE_CHECKING:
    from airflow.sdk import DAG

__all__ = ["apply_mutations", "enforce", "rejection_message", "warning_message"]


def _subject(record: DecisionRecord) -> str:
    team = f"team '{record.team}'" if record.team else "no team"
    return f"DAG '{record.dag_id}' (bundle '{record.bundle}', {team})"


def _findings(record: DecisionRecord, effect: str) -> list[str]:
    lines = []
    for v in record.violations:
        if v.effect == effect:
            lines.append(f"  - [{v.rule}] {v.message}")
            if v.remediation:
                lines.append(f"    fix: {v.remediation}")
    return lines


def rejection_message(record: DecisionRecord) -> str:
    """One import-error text: every denied rule with its task and fix, or why no decision was had."""
    if record.outcome == "failed_closed":
        return (
            f"{_subject(record)} was rejected because airflow-policies could not decide on it (fail closed): "
            f"{record.error}"
        )
    denied = _findings(record, "deny")
    count = len([v for v in record.violations if v.effect == "deny"])
    lines = [f"{_subject(record)} breaks {count} team-boundary rule{'s' if count != 1 else ''}:", *denied]
    warned = _findings(record, "warn")
    if warned:
        lines += ["and would also be warned about:", *warned]
    return "\n".join(lines)


def warning_message(record: DecisionRecord) -> str | None:
    """The text shown to the DAG's authors for an admitted DAG, or ``None`` when there is nothing to say."""
    if record.outcome == "failed_open":
        return f"airflow-policies: {_subject(record)} was admitted unchecked (fail open): {record.error}"
    lines = _findings(record, "warn")
    lines += [
        f"  ~ {m.targets}: {m.field} {m.before!r} -> {m.after!r} [{m.rule}]"
        for m in record.mutations
        if m.applied and m.action == "warn"
    ]
    if not lines:
        return None
    return "\n".join([f"airflow-policies: {_subject(record)} is admitted, but:", *lines])


def _converted(change: MutationChange) -> Any:  # noqa: ANN401 - depends on the field
    if change.field == "execution_timeout":
        return datetime.timedelta(seconds=change.after)
    if change.field == "tags":
        return set(change.after)
    return change.after


def apply_mutations(dag: DAG, changes: list[MutationChange]) -> None:
    """Set each applied field on the DAG or task; fields outside the allowlist never reach here."""
    for change in changes:
        if not change.applied:
            continue
        value = _converted(change)
        for task_id in change.task_ids:
            if task_id is None:
                setattr(dag, change.field, value)
                continue
            # judge() refused decisions that name a task the DAG's input document does not have.
            task = dag.task_dict[task_id]
            try:
                setattr(task, change.field, value)
            except AttributeError:
                # Mapped tasks expose some fields read-only; their value lives in partial_kwargs.
                if not isinstance(task, MappedOperator):
                    raise
                task.partial_kwargs[change.field] = value


def enforce(dag: DAG, record: DecisionRecord) -> str | None:
    """Reject the DAG, or apply the decision's mutations and return the warning for its authors, if any.

    Raises:
        AirflowClusterPolicyViolation: the DAG is rejected (a denied violation, or no decision, fail closed).
    """
    if not record.admitted:
        raise AirflowClusterPolicyViolation(rejection_message(record))
    apply_mutations(dag, record.mutations)
    return warning_message(record)
