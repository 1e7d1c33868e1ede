"""Turn a decision into an import error or into mutations of the DAG."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from airflow.exceptions import AirflowClusterPolicyViolation

from airflow_policies.decision import Decision, Mutation
from airflow_policies.document import InputDocument
from airflow_policies.exceptions import MalformedDecisionError

if TYPE_CHECKING:
    from airflow.sdk import DAG

__all__ = ["apply_mutations", "enforce", "rejection_message"]


def rejection_message(document: InputDocument, decision: Decision) -> str:
    """One import-error text naming the team, every rule, task and what to do."""
    bundle = document.bundle
    team = f"team '{bundle.team}'" if bundle.team else "no team"
    count = len(decision.violations)
    lines = [
        f"DAG '{document.dag.dag_id}' (bundle '{bundle.name}', {team}) breaks "
        f"{count} team-boundary rule{'s' if count != 1 else ''}:"
    ]
    for v in decision.violations:
        lines.append(f"  - [{v.rule}] {v.message}")
        if v.remediation:
            lines.append(f"    fix: {v.remediation}")
    return "\n".join(lines)


def _converted(mutation: Mutation) -> Any:  # noqa: ANN401 - depends on the field
    if mutation.field == "execution_timeout":
        return datetime.timedelta(seconds=mutation.value)
    if mutation.field == "tags":
        return set(mutation.value)
    return mutation.value


def apply_mutations(dag: DAG, mutations: list[Mutation]) -> None:
    """Set each mutated field on the DAG or task; fields outside the allowlist never reach here."""
    for mutation in mutations:
        value = _converted(mutation)
        if mutation.task_id is None:
            setattr(dag, mutation.field, value)
            continue
        task = dag.task_dict.get(mutation.task_id)
        if task is None:
            raise MalformedDecisionError(
                f"the decision mutates task {mutation.task_id!r}, which DAG {dag.dag_id!r} does not have"
            )
        try:
            setattr(task, mutation.field, value)
        except AttributeError:
            # Mapped tasks expose some fields read-only; their value lives in partial_kwargs.
            task.partial_kwargs[mutation.field] = value


def enforce(dag: DAG, document: InputDocument, decision: Decision) -> None:
    """Reject the DAG with one aggregated violation, or apply the decision's mutations.

    Raises:
        AirflowClusterPolicyViolation: the decision has violations.
    """
    if decision.rejected:
        raise AirflowClusterPolicyViolation(rejection_message(document, decision))
    apply_mutations(dag, decision.mutations)
