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
