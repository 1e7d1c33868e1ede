"""The Policies page and its JSON endpoint: a FastAPI app the API server mounts (plugin ``fastapi_apps``).

Every request is authenticated as Airflow's own UI and REST API are (the session cookie or a bearer token,
:func:`airflow.api_fastapi.core_api.security.get_user`), and shows only the teams whose DAGs Airflow's auth
manager lets the user read. A page view reads Airflow's import errors and DAG warnings, the components' posture and
the run-time refusals from Airflow's audit log (four small queries) and the cached policy state; it never asks OPA
for a decision.
"""

from __future__ import annotations

import datetime
import itertools
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode, urlsplit

import jinja2
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from airflow_policies.enforcement.audit_log import latest_postures, recent_refusals
from airflow_policies.ui.policy_state import ENFORCEMENT_POINTS, policy_state
from airflow_policies.ui.report import POSTURE_SINCE, REFUSALS_SINCE, PolicyReport, build_report, read_verdicts

__all__ = ["app", "report_for"]

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


_bearer = HTTPBearer(auto_error=False)


async def _current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> BaseUser:
    """Airflow's own authentication (bearer token, else the UI's session cookie), imported only when asked:
    every Airflow process that loads plugins imports this module, and Airflow's API security module is heavy."""
    from airflow.api_fastapi.core_api.security import get_user

    return await get_user(request, None, credentials)


CurrentUser = Annotated[BaseUser, Depends(_current_user)]


def _dag_url_prefix() -> str:
    from airflow.configuration import conf

    return urlsplit(conf.get("api", "base_url", fallback="") or "").path.rstrip("/")


def report_for(user: BaseUser, team: str | None, rule: str | None) -> PolicyReport:
    """The report ``user`` may see, filtered by team and rule."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
    from airflow.models.team import Team
    from airflow.utils.session import create_session

    auth_manager = get_auth_manager()

    def may_read_team(name: str | None) -> bool:
        return bool(auth_manager.is_authorized_dag(method="GET", details=DagDetails(team_name=name), user=user))

    prefix = _dag_url_prefix()
    now = datetime.datetime.now(datetime.timezone.utc)
    with create_session() as session:
        verdicts = read_verdicts(session, lambda dag_id: f"{prefix}/dags/{dag_id}")
        teams = set(Team.get_all_team_names(session=session)) | {v.team for v in verdicts if v.team}
        posture = latest_postures(session, now - POSTURE_SINCE)
        refusals = recent_refusals(session, now - REFUSALS_SINCE)
    state = policy_state(frozenset(teams))
    return build_report(
        verdicts, may_read_team, teams, state, team=team, rule=rule, now=now, posture=posture, refusals=refusals
    )


app = FastAPI(
    title="airflow-policies",
    description="The policy report: rejected, warned and undecided DAGs per team, rules, exceptions, revisions.",
)

TeamFilter = Annotated[str | None, Query(description="only this team")]
RuleFilter = Annotated[str | None, Query(description="only this rule id, e.g. connections.foreign_connection")]


@app.get("/report.json", response_model=PolicyReport)
def report_json(user: CurrentUser, team: TeamFilter = None, rule: RuleFilter = None) -> PolicyReport:
    """The same data as the page, as JSON."""
    return report_for(user, team or None, rule or None)


@app.get("/", response_class=HTMLResponse)
def page(user: CurrentUser, team: TeamFilter = None, rule: RuleFilter = None) -> HTMLResponse:
    """The Policies page (linked from the Airflow UI's navigation)."""
    report = report_for(user, team or None, rule or None)
    filters = {k: v for k, v in (("team", report.selected_team), ("rule", report.selected_rule)) if v}
    by_team = [(t, list(vs)) for t, vs in itertools.groupby(report.dags, key=lambda v: v.team)]
    rule_ids = sorted({r.id for r in report.rules} | {f.rule for v in report.dags for f in v.findings})
    html = _TEMPLATES.get_template("policies.html").render(
        report=report,
        by_team=by_team,
        rule_ids=rule_ids,
        points=ENFORCEMENT_POINTS,
        action_teams=[report.selected_team] if report.selected_team else report.teams,
        query=f"?{urlencode(filters)}" if filters else "",
    )
    return HTMLResponse(html)
