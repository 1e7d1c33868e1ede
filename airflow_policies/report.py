"""The report of ``airflow-policies check``: its JSON form is a stable, documented interface."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from airflow_policies.decision import Violation

__all__ = ["CheckReport", "DagResult", "FileResult", "MutationChange", "Outcome"]

Outcome = Literal["admitted", "mutated", "rejected", "error"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MutationChange(_Model):
    """One field the policy changes, with its value before and after."""

    rule: str
    task_id: str | None
    field: str
    before: Any
    after: Any


class DagResult(_Model):
    """The outcome for one DAG."""

    dag_id: str
    team: str | None
    outcome: Outcome
    violations: list[Violation] = []
    mutations: list[MutationChange] = []
    error: str | None = None


class FileResult(_Model):
    """One DAG file: the import error if it did not load, else one result per DAG."""

    file: str
    import_error: str | None = None
    dags: list[DagResult] = []


class CheckReport(_Model):
    """Everything ``check`` found, in file order."""

    schema_version: Literal[1] = 1
    bundle: str
    team: str | None
    files: list[FileResult]

    def counts(self) -> dict[str, int]:
        """How many DAGs had each outcome, plus files that failed to import."""
        totals = dict.fromkeys(("admitted", "mutated", "rejected", "error"), 0)
        for file in self.files:
            for dag in file.dags:
                totals[dag.outcome] += 1
        totals["import_errors"] = sum(1 for f in self.files if f.import_error)
        return totals

    @property
    def failed(self) -> bool:
        """Whether anything was rejected, errored or failed to import."""
        counts = self.counts()
        return bool(counts["rejected"] or counts["error"] or counts["import_errors"])
