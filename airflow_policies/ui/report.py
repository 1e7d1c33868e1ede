"""The policy report: what the enforcement points decided, as Airflow already stores it, for the users who may see it.

Nothing is decided here and no DAG code runs. The findings are the import errors and DAG warnings the
enforcement points wrote (Airflow's ``import_error`` and ``dag_warning`` tables, read back with
:func:`~airflow_policies.enforcement.enforce.parse_messages`): as fresh as the last parse of each file,
since Airflow replaces them on every parse and drops them when the file is fixed or gone. The team of
each finding comes from its bundle in the metadata DB, never from the text. What the policy itself holds
(the rules OPA runs with their actions, the exceptions, the revision) is read from the configured OPA at
most once per ``decision_cache_seconds`` (:mod:`airflow_policies.ui.policy_state`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from airflow_policies.decision.teams import bundle_teams_from_db
from airflow_policies.enforcement.audit_log import RuntimeRefusal
from airflow_policies.enforcement.dag_warnings import WARNING_TYPE
from airflow_policies.enforcement.enforce import ParsedFinding, parse_messages
from airflow_policies.posture.models import PostureReport
from airflow_policies.ui.policy_state import PolicyState, RuleInForce

__all__ = ["DagVerdict", "ExceptionEntry", "PointRevision", "PolicyReport", "build_report", "read_verdicts"]

#: Exceptions expiring within this many days are marked, as ``check --expiring-within`` does by default.
EXPIRING_WITHIN_DAYS = 14
#: How far back the page lists run-time refusals, and components' posture reports from their start.
REFUSALS_SINCE = datetime.timedelta(days=1)
POSTURE_SINCE = datetime.timedelta(days=30)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DagVerdict(_Model):
    """One DAG that is rejected, warned about or undecided right now, with its findings."""

    team: str | None
    bundle: str
    dag_id: str
    file: str | None
    outcome: Literal["rejected", "failed_closed", "warned", "failed_open"]
    findings: list[ParsedFinding]
    error: str | None
    enforcement_point: str | None
    policy_revision: str | None
    source: Literal["import_error", "dag_warning"]
    recorded_at: datetime.datetime | None
    #: The DAG's page in the Airflow UI; ``None`` for a DAG Airflow never stored (rejected at its first parse).
    dag_url: str | None


class ExceptionEntry(_Model):
    """A rollout exception as OPA holds it, with whether it is still in force."""

    id: str
    rule: str
    team: str
    dag_id: str
    task_id: str
    owner: str
    reason: str
    ticket: str
    expires: datetime.date
    state: Literal["active", "expiring", "expired"]


class PointRevision(_Model):
    """The policy revision an enforcement point decided the listed findings with (the newest finding's)."""

    enforcement_point: str
    policy_revision: str
    last_recorded_at: datetime.datetime | None
    current: bool | None


class PolicyReport(_Model):
    """Everything the Policies page and its JSON endpoint show, for one user."""

    schema_version: Literal[1] = 1
    generated_at: datetime.datetime
    teams: list[str]
    selected_team: str | None
    selected_rule: str | None
    dags: list[DagVerdict]
    rules: list[RuleInForce]
    exceptions: list[ExceptionEntry]
    revisions: list[PointRevision]
    opa_url: str
    opa_revision: str | None
    opa_error: str | None
    state_read_at: datetime.datetime | None
    #: Each component's newest start-up posture report, with only the findings about teams the user may read.
    posture: list[PostureReport] = []
    #: The run-time refusals of team code of the last day, of teams the user may read.
    refusals: list[RuntimeRefusal] = []


def read_verdicts(session: Any, dag_url: Callable[[str], str]) -> list[DagVerdict]:  # noqa: ANN401 - a session
    """Every DAG verdict the enforcement points left in Airflow's import errors and DAG warnings."""
    from airflow.models.dag import DagModel
    from airflow.models.dagwarning import DagWarning
    from airflow.models.errors import ParseImportError
    from sqlalchemy import select

    stored = dict(session.execute(select(DagModel.dag_id, DagModel.bundle_name)).all())
    rows: list[tuple[str, str | None, str, datetime.datetime | None, Literal["import_error", "dag_warning"]]] = []
    for error in session.scalars(select(ParseImportError)):
        rows.append((error.bundle_name or "", error.filename, error.stacktrace or "", error.timestamp, "import_error"))
    for warning in session.scalars(select(DagWarning).where(DagWarning.warning_type == WARNING_TYPE)):
        rows.append((stored.get(warning.dag_id) or "", None, warning.message or "", warning.timestamp, "dag_warning"))
    teams = bundle_teams_from_db({bundle for bundle, *_ in rows if bundle}, session)
    verdicts = []
    for bundle, file, text, recorded_at, source in rows:
        for message in parse_messages(text):
            # The bundle Airflow filed the text under is the truth; the text is the DAG's to write.
            if bundle and message.bundle != bundle:
                continue
            verdicts.append(
                DagVerdict(
                    team=teams.get(bundle),
                    bundle=bundle,
                    dag_id=message.dag_id,
                    file=file,
                    outcome=message.outcome,
                    findings=message.findings,
                    error=message.error,
                    enforcement_point=message.enforcement_point,
                    policy_revision=message.policy_revision,
                    source=source,
                    recorded_at=recorded_at,
                    dag_url=dag_url(message.dag_id) if stored.get(message.dag_id) == bundle else None,
                )
            )
    return sorted(verdicts, key=lambda v: (v.team or "", v.dag_id, v.source))


def _exceptions(state: PolicyState, teams: set[str], today: datetime.date) -> list[ExceptionEntry]:
    horizon = today + datetime.timedelta(days=EXPIRING_WITHIN_DAYS)
    entries = []
    for e in state.exceptions:
        if e.team not in teams:
            continue
        status: Literal["active", "expiring", "expired"] = (
            "expired" if e.expires < today else "expiring" if e.expires <= horizon else "active"
        )
        entries.append(ExceptionEntry(**e.model_dump(), state=status))
    return sorted(entries, key=lambda e: (e.expires, e.id))


def _revisions(verdicts: Iterable[DagVerdict], opa_revision: str | None) -> list[PointRevision]:
    newest: dict[str, DagVerdict] = {}
    for verdict in verdicts:
        point, seen = verdict.enforcement_point, verdict.recorded_at
        if point is None or verdict.policy_revision is None:
            continue
        previous = newest.get(point)
        if previous is None or (seen and previous.recorded_at and seen > previous.recorded_at):
            newest[point] = verdict
    return [
        PointRevision(
            enforcement_point=point,
            policy_revision=v.policy_revision or "",
            last_recorded_at=v.recorded_at,
            current=None if opa_revision is None else v.policy_revision == opa_revision,
        )
        for point, v in sorted(newest.items())
    ]


def build_report(
    verdicts: list[DagVerdict],
    may_read_team: Callable[[str | None], bool],
    all_teams: set[str],
    state: PolicyState,
    *,
    team: str | None = None,
    rule: str | None = None,
    now: datetime.datetime | None = None,
    posture: Sequence[PostureReport] = (),
    refusals: Sequence[RuntimeRefusal] = (),
) -> PolicyReport:
    """The report one user may see: only teams whose DAGs the auth manager lets them read, then the filters.

    Args:
        verdicts: from :func:`read_verdicts`.
        may_read_team: whether the user may read DAGs of a team (``None``: teamless bundles).
        all_teams: every team of the deployment.
        state: the policy's rules, exceptions and revision (:func:`~airflow_policies.ui.policy_state.policy_state`).
        team: show only this team (ignored unless the user may read it).
        rule: show only DAGs with a finding of this rule, and only this rule.
        now: the time of the report (tests).
        posture: components' start-up reports (:func:`~airflow_policies.enforcement.audit_log.latest_postures`).
        refusals: run-time refusals (:func:`~airflow_policies.enforcement.audit_log.recent_refusals`).
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    visible = sorted(t for t in all_teams if may_read_team(t))
    selected = team if team in visible else None
    shown = [
        v
        for v in verdicts
        if (v.team in visible if v.team else may_read_team(None)) and (selected is None or v.team == selected)
    ]
    if rule:
        shown = [
            v.model_copy(update={"findings": [f for f in v.findings if f.rule == rule]})
            for v in shown
            if any(f.rule == rule for f in v.findings)
        ]

    def shown_team(name: str | None) -> bool:
        return (name in visible if name else may_read_team(None)) and (selected is None or name in (selected, None))

    postures = [
        r.model_copy(
            update={
                "teams": [t for t in r.teams if shown_team(t)],
                "findings": [f for f in r.findings if shown_team(f.team)],
            }
        )
        for r in posture
        if (any(shown_team(t) for t in r.teams) if r.teams else shown_team(None))
    ]
    rules = [
        r.model_copy(update={"actions": {t: a for t, a in r.actions.items() if t in visible}})
        for r in state.rules
        if (rule is None or r.id == rule) and (r.team is None or r.team in visible)
    ]
    return PolicyReport(
        generated_at=now,
        teams=visible,
        selected_team=selected,
        selected_rule=rule or None,
        dags=shown,
        rules=rules,
        exceptions=_exceptions(state, {selected} if selected else set(visible), now.date()),
        revisions=_revisions(shown, state.revision),
        opa_url=state.opa_url,
        opa_revision=state.revision,
        opa_error=state.error,
        state_read_at=state.read_at,
        posture=postures,
        refusals=[r for r in refusals if shown_team(r.team) and (rule is None or rule in r.rules)],
    )
