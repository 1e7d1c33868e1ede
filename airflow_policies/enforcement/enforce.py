"""Turn a verdict into an import error, a DAG warning, or mutations of the DAG.

The texts of import errors and DAG warnings are this module's format, and :func:`parse_messages` reads them
back (the policy report page lists them): the two live side by side so they cannot drift apart.
"""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING, Any, Literal

from airflow.exceptions import AirflowClusterPolicyViolation
from airflow.sdk.definitions.mappedoperator import MappedOperator
from pydantic import BaseModel, ConfigDict

from airflow_policies.decision.record import DecisionRecord, MutationChange

if TYPE_CHECKING:
    from airflow.sdk import DAG

__all__ = [
    "ParsedFinding",
    "ParsedMessage",
    "apply_mutations",
    "enforce",
    "parse_messages",
    "rejection_message",
    "warning_message",
]


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


def _provenance(record: DecisionRecord) -> str:
    return f"  (decided at {record.enforcement_point} by policy {record.policy_revision or 'unknown'})"


def rejection_message(record: DecisionRecord) -> str:
    """One import-error text: every denied rule with its task and fix, or why no decision was had."""
    if record.outcome == "failed_closed":
        return (
            f"{_subject(record)} was rejected because airflow-policies could not decide on it (fail closed): "
            f"{record.error}\n{_provenance(record)}"
        )
    denied = _findings(record, "deny")
    count = len([v for v in record.violations if v.effect == "deny"])
    lines = [f"{_subject(record)} breaks {count} team-boundary rule{'s' if count != 1 else ''}:", *denied]
    warned = _findings(record, "warn")
    if warned:
        lines += ["and would also be warned about:", *warned]
    return "\n".join([*lines, _provenance(record)])


def warning_message(record: DecisionRecord) -> str | None:
    """The text shown to the DAG's authors for an admitted DAG, or ``None`` when there is nothing to say."""
    if record.outcome == "failed_open":
        return (
            f"airflow-policies: {_subject(record)} was admitted unchecked (fail open): {record.error}\n"
            f"{_provenance(record)}"
        )
    lines = _findings(record, "warn")
    lines += [
        f"  ~ {m.targets}: {m.field} {m.before!r} -> {m.after!r} [{m.rule}]"
        for m in record.mutations
        if m.applied and m.action == "warn"
    ]
    if not lines:
        return None
    return "\n".join([f"airflow-policies: {_subject(record)} is admitted, but:", *lines, _provenance(record)])


def _converted(change: MutationChange) -> Any:  # noqa: ANN401 - depends on the field
    if change.field == "execution_timeout":
        return datetime.timedelta(seconds=change.after)
    if change.field == "tags":
        return set(change.after)
    return change.after


#: The KubernetesPodOperator argument each pod field sets (the executor's final pod is mutated by the
#: ``kubernetes_executor`` point instead).
_OPERATOR_ARGUMENTS = {
    "pod_namespace": "namespace",
    "pod_service_account": "service_account_name",
    "pod_node_selector": "node_selector",
    "pod_labels": "labels",
}


def _merged(held: object, value: Any) -> Any:  # noqa: ANN401 - the field's value
    """A dict-valued change (node selector, labels) merged into what the operator holds; others replace it."""
    return {**(held if isinstance(held, dict) else {}), **value} if isinstance(value, dict) else value


def _set_on_task(task: Any, change: MutationChange, field: str, value: Any) -> None:  # noqa: ANN401
    if not isinstance(task, MappedOperator):
        setattr(task, field, _merged(getattr(task, field, None), value))
        return
    value = _merged(task.partial_kwargs.get(field), value)
    if change.field in _OPERATOR_ARGUMENTS:  # a mapped operator's arguments, as given to partial()
        task.partial_kwargs[field] = value
        return
    try:
        setattr(task, field, value)
    except AttributeError:
        # Mapped tasks expose some fields read-only; their value lives in partial_kwargs.
        task.partial_kwargs[field] = value


def apply_mutations(dag: DAG, changes: list[MutationChange]) -> None:
    """Set each applied field on the DAG or task; fields outside the allowlist never reach here."""
    for change in changes:
        if not change.applied:
            continue
        value = _converted(change)
        field = _OPERATOR_ARGUMENTS.get(change.field, change.field)
        for task_id in change.task_ids:
            if task_id is None:
                setattr(dag, field, value)
            else:
                # judge() refused decisions that name a task the DAG's input document does not have.
                _set_on_task(dag.task_dict[task_id], change, field, value)


def enforce(dag: DAG, record: DecisionRecord) -> str | None:
    """Reject the DAG, or apply the decision's mutations and return the warning for its authors, if any.

    Raises:
        AirflowClusterPolicyViolation: the DAG is rejected (a denied violation, or no decision, fail closed).
    """
    if not record.admitted:
        raise AirflowClusterPolicyViolation(rejection_message(record))
    apply_mutations(dag, record.mutations)
    return warning_message(record)


class ParsedFinding(BaseModel):
    """One finding of an import error or DAG warning written by this module."""

    model_config = ConfigDict(frozen=True)

    rule: str
    effect: Literal["deny", "warn"]
    task_id: str | None
    message: str
    remediation: str | None = None


class ParsedMessage(BaseModel):
    """One DAG's verdict as its import error or DAG warning states it."""

    model_config = ConfigDict(frozen=True)

    dag_id: str
    bundle: str
    team: str | None
    outcome: Literal["rejected", "failed_closed", "warned", "failed_open"]
    findings: list[ParsedFinding]
    error: str | None = None
    enforcement_point: str | None = None
    policy_revision: str | None = None


_HEADER = re.compile(
    r"^(?:AirflowClusterPolicyViolation: |airflow-policies: )?DAG '(?P<dag_id>[^']*)' "
    r"\(bundle '(?P<bundle>[^']*)', (?:team '(?P<team>[^']*)'|no team)\) (?P<verdict>breaks \d+ team-boundary rules?:"
    r"|was rejected because airflow-policies could not decide on it \(fail closed\): "
    r"|is admitted, but:|was admitted unchecked \(fail open\): )(?P<rest>.*)$"
)
_FINDING = re.compile(r"^  - \[(?P<rule>[^\]]+)\] (?P<message>.*)$")
_WARNED_MUTATION = re.compile(
    r"^  ~ (?:task '(?P<task_id>[^']*)'|the DAG|\d+ tasks \((?P<tasks>.*?)\)): (?P<change>.*) \[(?P<rule>[^\]]+)\]$"
)
_PROVENANCE = re.compile(r"^  \(decided at (?P<point>\S+) by policy (?P<revision>.*)\)$")
_TASK = re.compile(r"^task '(?P<task_id>[^']*)'")
_OUTCOMES: dict[str, Literal["rejected", "failed_closed", "warned", "failed_open"]] = {
    "breaks": "rejected",
    "was rejected": "failed_closed",
    "is admitted": "warned",
    "was admitted": "failed_open",
}


def parse_messages(text: str) -> list[ParsedMessage]:
    """Every DAG verdict in an import error or DAG warning text this module wrote (other text is skipped).

    Airflow keeps one import error per file: the manager's re-check appends one block per rejected DAG, so a
    text can hold several.
    """
    messages: list[dict[str, Any]] = []
    effect: Literal["deny", "warn"] = "deny"
    for line in text.splitlines():
        if header := _HEADER.match(line):
            outcome = next(o for prefix, o in _OUTCOMES.items() if header["verdict"].startswith(prefix))
            effect = "warn" if outcome == "warned" else "deny"
            messages.append(
                {
                    "dag_id": header["dag_id"],
                    "bundle": header["bundle"],
                    "team": header["team"],
                    "outcome": outcome,
                    "findings": [],
                    "error": header["rest"] or None,
                }
            )
        elif not messages:
            continue
        elif line == "and would also be warned about:":
            effect = "warn"
        elif finding := _FINDING.match(line):
            task = _TASK.match(finding["message"])
            messages[-1]["findings"].append(
                ParsedFinding(
                    rule=finding["rule"],
                    effect=effect,
                    task_id=task["task_id"] if task else None,
                    message=finding["message"],
                )
            )
        elif line.startswith("    fix: ") and messages[-1]["findings"]:
            last = messages[-1]["findings"][-1]
            messages[-1]["findings"][-1] = last.model_copy(update={"remediation": line.removeprefix("    fix: ")})
        elif mutation := _WARNED_MUTATION.match(line):
            messages[-1]["findings"].append(
                ParsedFinding(
                    rule=mutation["rule"],
                    effect="warn",
                    task_id=mutation["task_id"],
                    message=f"tasks {mutation['tasks']}: {mutation['change']}"
                    if mutation["tasks"]
                    else mutation["change"],
                )
            )
        elif provenance := _PROVENANCE.match(line):
            messages[-1] |= {"enforcement_point": provenance["point"], "policy_revision": provenance["revision"]}
    return [ParsedMessage.model_validate(m) for m in messages]
