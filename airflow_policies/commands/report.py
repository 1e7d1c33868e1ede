"""The report of ``airflow-policies check`` and ``audit``: its JSON form is a stable, documented interface."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from airflow_policies.decision.record import DecisionRecord, Outcome
from airflow_policies.policy.rollout import PolicyException

__all__ = ["CheckReport", "FileResult"]

_OUTCOMES: tuple[Outcome, ...] = ("admitted", "mutated", "warned", "rejected", "failed_closed", "failed_open")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileResult(_Model):
    """One DAG file: the import error if it did not load, and the decision record of each DAG in it."""

    file: str
    import_error: str | None = None
    dags: list[DecisionRecord] = []


class CheckReport(_Model):
    """Everything ``check`` (one bundle) or ``audit`` (every bundle: ``bundle`` and ``team`` null, each decision
    names its own) found, in file order, and the exceptions about to expire."""

    schema_version: Literal[4] = 4
    bundle: str | None
    team: str | None
    files: list[FileResult]
    expiring_exceptions: list[PolicyException] = []

    def counts(self) -> dict[str, int]:
        """How many DAGs had each outcome, plus files that failed to import."""
        totals: dict[str, int] = dict.fromkeys(_OUTCOMES, 0)
        for file in self.files:
            for dag in file.dags:
                totals[dag.outcome] += 1
        totals["import_errors"] = sum(1 for f in self.files if f.import_error)
        return totals

    @property
    def failed(self) -> bool:
        """Whether anything was rejected, could not be decided (fail closed) or failed to import."""
        counts = self.counts()
        return bool(counts["rejected"] or counts["failed_closed"] or counts["import_errors"])
