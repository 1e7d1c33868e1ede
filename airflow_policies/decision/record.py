"""The record of one decision: what the decision log, the metrics and every enforcement point read."""

from __future__ import annotations

import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from airflow_policies.decision.models import Violation
from airflow_policies.document.models import EnforcementPoint

__all__ = ["DecisionRecord", "MutationChange", "Outcome"]

#: What happened to the DAG. ``failed_*``: no trustworthy decision; closed rejects, open admits.
Outcome = Literal["admitted", "mutated", "warned", "rejected", "failed_closed", "failed_open"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MutationChange(_Model):
    """One field the policy sets from one value to another, on the tasks it names (``None``: the DAG itself);
    dryrun changes are not applied. The tasks of one rule that had the same value are one change, so a
    decision routing every task of a large DAG stays a short decision-log line, every task still named."""

    rule: str
    task_ids: list[str | None]
    field: str
    before: Any
    after: Any
    action: Literal["deny", "warn", "dryrun"]
    applied: bool

    @property
    def targets(self) -> str:
        """How a message names what the change sets: the DAG, one task, or the tasks (each by id)."""
        if self.task_ids == [None]:
            return "the DAG"
        if len(self.task_ids) == 1:
            return f"task {self.task_ids[0]!r}"
        return f"{len(self.task_ids)} tasks ({', '.join(repr(t) for t in self.task_ids)})"


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
