"""The posture report: each way a team's code in one component could act as another team, with its fix.

Findings name where a secret is held (a variable, a file, a process), never its value: a report is printed in CI
logs, written to Airflow's audit log and shown on the Policies page.
"""

from __future__ import annotations

import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CHECKS", "REMEDIES", "Component", "Finding", "PostureReport", "Remedy", "Severity"]

#: The Airflow components a report is about; team code runs in every one but the API server.
Component = Literal["scheduler", "dag-processor", "triggerer", "api-server", "worker"]
Severity = Literal["error", "warning"]
#: What removes a finding: a configuration change; a separate Unix user, container or host per team (or per
#: component); or nothing in Airflow 3.3, where the component needs what it holds (isolation then only keeps the
#: rest of the deployment out of its reach).
Remedy = Literal["configure", "isolate", "accept"]
REMEDIES: dict[Remedy, str] = {
    "configure": "a configuration change removes it",
    "isolate": "only a separate Unix user, container or host per team removes it",
    "accept": "Airflow 3.3 gives this component no way to run without it: a risk to accept, and to confine by "
    "running the component per team, isolated",
}

#: Every check: its id and what it looks for (the rule list of the SARIF output and of the docs).
CHECKS: dict[str, str] = {
    "signing_key": "A key that signs Execution API tokens is readable where team code runs.",
    "metadata_db": "The metadata DB's address (or the command or secret that yields it) is readable where team code "
    "runs.",
    "fernet_key": "The Fernet key that decrypts every team's connections and Variables is readable where team code "
    "runs.",
    "other_processes": "Another process on this host, readable by this Unix user, holds a deployment secret in its "
    "environment.",
    "command_line_secret": "A process's command line, readable by every user of the host, holds a password.",
    "policy_writable": "The OPA the policy asks accepts writes (of rules or data) from where team code runs.",
    "result_backend": "Celery's result backend is a database (by default the metadata DB), so a worker holds its "
    "address.",
    "foreign_bundles": "A process that runs one team's code is configured with another team's bundles.",
    "foreign_secrets": "Another team's connections or Variables are in the environment of a process running team "
    "code, or one secrets backend serves several teams' code.",
    "global_executor": "A team's tasks may run on a global executor, beside teamless DAGs and other teams' tasks.",
    "guard_missing": "The API server serves the Execution API without the airflow-policies guard.",
    "policy_not_loaded": "A component runs without the airflow-policies policy, or with its enforcement point off.",
    "multi_team_off": "[core] multi_team is off while the configuration names teams.",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Finding(_Model):
    """One way a team's code could act as another team, or reach another team's data, and how to remove it."""

    check: str = Field(description="The check's id (see CHECKS).")
    component: Component
    team: str | None = Field(description="Whose code could use it; null: any team's code in the component.")
    severity: Severity
    message: str
    evidence: list[str] = Field(description="Where it was found: variables, files, processes; never a value.")
    fix: str
    remedy: Remedy = Field(default="configure", description="What removes it (see REMEDIES).")

    def line(self) -> str:
        """The finding as one log line: check, where, what, where found, fix."""
        where = f"{self.component}/{self.team}" if self.team else self.component
        return f"[{self.check}] {where}: {self.message} (found: {'; '.join(self.evidence)}) Fix: {self.fix}"


class PostureReport(_Model):
    """What ``doctor`` (or a component at start-up) found in one component's environment."""

    event: Literal["airflow_policies.posture"] = "airflow_policies.posture"
    component: Component
    teams: list[str] = Field(description="The teams whose code runs in this component.")
    host: str
    checked_at: datetime.datetime
    processes_inspected: bool = Field(
        description="Whether the other processes of this host were read (not when pointed at another environment)."
    )
    findings: list[Finding]

    @property
    def failed(self) -> bool:
        """Whether any finding is an error (``doctor`` then exits 1, as ``check`` does for a rejection)."""
        return any(f.severity == "error" for f in self.findings)
