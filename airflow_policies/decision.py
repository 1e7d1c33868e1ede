"""The decision: what OPA answers for one DAG."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from airflow_policies.exceptions import MalformedDecisionError

__all__ = ["DAG_FIELDS", "Decision", "MutableField", "Mutation", "Violation", "parse_decision"]

#: The allowlist: the only fields a decision may set. Every other field is refused as malformed.
MutableField = Literal["queue", "pool", "executor", "owner", "retries", "execution_timeout", "tags"]
#: Mutable fields that belong to the DAG (task_id null); the others belong to a task.
DAG_FIELDS = frozenset({"tags"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Violation(_Model):
    """One broken rule."""

    rule: str = Field(min_length=1)
    title: str = ""
    task_id: str | None = None
    message: str = Field(min_length=1)
    remediation: str = ""
    details: dict[str, Any] = {}


class Mutation(_Model):
    """One field the policy sets on an admitted DAG or task."""

    rule: str = Field(min_length=1)
    task_id: str | None = None
    field: MutableField
    value: Any

    @field_validator("value")
    @classmethod
    def _value_fits_field(cls, value: Any, info: Any) -> Any:  # noqa: ANN401 - the type depends on the field
        field = info.data.get("field")
        if field in ("queue", "pool", "executor", "owner"):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{field} must be a non-empty string")
        elif field == "retries":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError("retries must be a non-negative integer")
        elif field == "execution_timeout":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError("execution_timeout must be a positive number of seconds")
        elif field == "tags" and (not isinstance(value, list) or not all(isinstance(t, str) and t for t in value)):
            raise ValueError("tags must be a list of non-empty strings")
        return value


class Decision(_Model):
    """OPA's answer for one DAG."""

    violations: list[Violation]
    mutations: list[Mutation]

    @field_validator("mutations")
    @classmethod
    def _no_conflicts(cls, mutations: list[Mutation]) -> list[Mutation]:
        seen: dict[tuple[str | None, str], Any] = {}
        for m in mutations:
            key = (m.task_id, m.field)
            if key in seen and seen[key] != m.value:
                raise ValueError(f"two mutations set {m.field!r} of task {m.task_id!r} to different values")
            seen[key] = m.value
        for m in mutations:
            if (m.task_id is None) != (m.field in DAG_FIELDS):
                level = "DAG-level" if m.field in DAG_FIELDS else "task-level"
                raise ValueError(f"mutation of {m.field!r} is {level} but task_id is {m.task_id!r}")
        return mutations

    @property
    def rejected(self) -> bool:
        """Whether the DAG must not be admitted."""
        return bool(self.violations)


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
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors())
        raise MalformedDecisionError(f"{source} returned a malformed decision: {problems}") from None
