"""The decision: what OPA answers for one DAG."""

from __future__ import annotations

import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from airflow_policies._files import validation_problems
from airflow_policies.exceptions import MalformedDecisionError

__all__ = [
    "DAG_FIELDS",
    "POD_FIELDS",
    "Action",
    "AppliedException",
    "Decision",
    "Effect",
    "MutableField",
    "Mutation",
    "Violation",
    "parse_decision",
]

#: What a rule does when it fires: reject the DAG, admit it with a warning, or only record it.
Action = Literal["deny", "warn", "dryrun"]
#: What a violation finally does: its action, or ``excepted`` when a live exception excuses it.
Effect = Literal["deny", "warn", "dryrun", "excepted"]

#: The allowlist: the only fields a decision may set. Every other field is refused as malformed.
MutableField = Literal[
    "queue",
    "pool",
    "executor",
    "owner",
    "retries",
    "execution_timeout",
    "tags",
    "pod_namespace",
    "pod_service_account",
    "pod_node_selector",
    "pod_labels",
]
#: Mutable fields of a task's Kubernetes pod: a KubernetesPodOperator's arguments at parse time, the final pod in
#: the KubernetesExecutor's ``pod_mutation_hook``. The dict-valued ones are merged into what the pod has.
POD_FIELDS = frozenset({"pod_namespace", "pod_service_account", "pod_node_selector", "pod_labels"})
#: Mutable fields that belong to the DAG (task_id null); the others belong to a task.
DAG_FIELDS = frozenset({"tags"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AppliedException(_Model):
    """The exception (declared in the rollout data) that excuses a violation."""

    id: str = Field(min_length=1)
    owner: str
    reason: str
    ticket: str
    expires: datetime.date


class Violation(_Model):
    """One broken rule, with the action in force for this team and enforcement point."""

    rule: str = Field(min_length=1)
    title: str = ""
    task_id: str | None = None
    message: str = Field(min_length=1)
    remediation: str = ""
    details: dict[str, Any] = {}
    action: Action
    exception: AppliedException | None = None

    @property
    def effect(self) -> Effect:
        """What this violation does to the DAG."""
        return "excepted" if self.exception is not None else self.action


class Mutation(_Model):
    """One field the policy sets to one value, on some tasks of an admitted DAG or on the DAG itself.

    ``task_ids`` names each task once; ``None`` in it stands for the DAG (the only target of a DAG field).
    One rule routing every task of a DAG is one mutation, not one per task.
    """

    rule: str = Field(min_length=1)
    task_ids: list[str | None] = Field(min_length=1)
    field: MutableField
    value: Any
    action: Action

    @property
    def applied(self) -> bool:
        """Whether the DAG is changed (a dryrun mutation is only reported)."""
        return self.action != "dryrun"

    @field_validator("value")
    @classmethod
    def _value_fits_field(cls, value: Any, info: Any) -> Any:  # noqa: ANN401 - the type depends on the field
        field = info.data.get("field")
        if field in ("queue", "pool", "executor", "owner", "pod_namespace", "pod_service_account"):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{field} must be a non-empty string")
        elif field == "retries":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError("retries must be a non-negative integer")
        elif field == "execution_timeout":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError("execution_timeout must be a positive number of seconds")
        elif field in ("pod_node_selector", "pod_labels") and (
            not isinstance(value, dict)
            or not value
            or not all(isinstance(k, str) and k and isinstance(v, str) for k, v in value.items())
        ):
            raise ValueError(f"{field} must be a non-empty object of strings")
        elif field == "tags" and (not isinstance(value, list) or not all(isinstance(t, str) and t for t in value)):
            raise ValueError("tags must be a list of non-empty strings")
        return value


class Decision(_Model):
    """OPA's answer for one DAG."""

    violations: list[Violation]
    mutations: list[Mutation]
    policy_revision: str

    @field_validator("mutations")
    @classmethod
    def _no_conflicts(cls, mutations: list[Mutation]) -> list[Mutation]:
        seen: dict[tuple[str | None, str], Any] = {}
        for m in mutations:
            for task_id in m.task_ids:
                key = (task_id, m.field)
                if key in seen and seen[key] != m.value:
                    raise ValueError(f"two mutations set {m.field!r} of task {task_id!r} to different values")
                seen[key] = m.value
            dag_level = m.field in DAG_FIELDS
            distinct_tasks = None not in m.task_ids and len(set(m.task_ids)) == len(m.task_ids)
            if m.task_ids != [None] if dag_level else not distinct_tasks:
                level = "DAG-level (task_ids [null])" if dag_level else "task-level (distinct task ids)"
                raise ValueError(f"mutation of {m.field!r} is {level} but task_ids is {m.task_ids!r}")
        return mutations

    def with_effect(self, effect: Effect) -> list[Violation]:
        """The violations that end up with ``effect``."""
        return [v for v in self.violations if v.effect == effect]

    @property
    def rejected(self) -> bool:
        """Whether the DAG must not be admitted: some violation is denied and not excepted."""
        return any(v.effect == "deny" for v in self.violations)

    @property
    def applied_mutations(self) -> list[Mutation]:
        """The mutations that change the DAG."""
        return [m for m in self.mutations if m.applied]


def parse_decision(response: object, *, source: str) -> Decision:
    """Validate an OPA data-API response body into a :class:`Decision`.

    Args:
        response: the decoded JSON body of ``POST /v1/data/<entrypoint>``.
        source: where the response came from, for the error message.

    Raises:
        MalformedDecisionError: the body has no ``result`` or the result is not a valid decision.
    """
    if not isinstance(response, dict) or "result" not in response:
        raise MalformedDecisionError(
            f"{source} returned no decision (the entrypoint is undefined: is the airflow_policies rego "
            f"library loaded into OPA?); body starts with {str(response)[:200]!r}"
        )
    try:
        return Decision.model_validate(response["result"])
    except ValidationError as exc:
        raise MalformedDecisionError(
            f"{source} returned a malformed decision: {validation_problems(exc)}; the rules OPA serves do not "
            "answer in the shape this airflow-policies version expects (schemas/decision.schema.json)"
        ) from None
