"""Who sees what on the Policies page, and what the filters keep (the report built from fakes of its sources)."""

from __future__ import annotations

import datetime

import pytest

from airflow_policies.enforcement.audit_log import RuntimeRefusal
from airflow_policies.enforcement.enforce import ParsedFinding
from airflow_policies.policy.rollout import PolicyException
from airflow_policies.posture.models import Finding, PostureReport
from airflow_policies.ui.policy_state import PolicyState, RuleInForce
from airflow_policies.ui.report import DagVerdict, build_report

NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)


def _verdict(team: str | None, dag_id: str, *rules: str, revision: str = "r2") -> DagVerdict:
    return DagVerdict(
        team=team,
        bundle=f"{team or 'shared'}_dags",
        dag_id=dag_id,
        file=f"{dag_id}.py",
        outcome="rejected",
        findings=[ParsedFinding(rule=r, effect="deny", task_id=None, message=f"breaks {r}") for r in rules],
        error=None,
        enforcement_point="dag_processor",
        policy_revision=revision,
        source="import_error",
        recorded_at=NOW,
        dag_url=None,
    )


def _exception(team: str, expires: datetime.date, id_: str) -> PolicyException:
    return PolicyException(
        id=id_, rule="pools.foreign_pool", team=team, owner="o", reason="r", ticket="T-1", expires=expires
    )


STATE = PolicyState(
    opa_url="http://opa",
    rules=[
        RuleInForce(
            id="connections.foreign_connection",
            title="t",
            description="d",
            remediation="fix",
            severity="high",
            default_action="deny",
            team=None,
            actions={"team_a": {"cli": "deny"}, "team_b": {"cli": "warn"}},
        ),
        RuleInForce(
            id="team_b.min_retries",
            title="t",
            description="d",
            remediation="fix",
            severity=None,
            default_action="deny",
            team="team_b",
            actions={"team_b": {"cli": "deny"}},
        ),
    ],
    exceptions=[
        _exception("team_a", datetime.date(2026, 11, 30), "EXPIRED"),
        _exception("team_a", datetime.date(2026, 12, 10), "SOON"),
        _exception("team_b", datetime.date(2027, 6, 1), "LATER"),
    ],
    revision="r2",
)
VERDICTS = [
    _verdict("team_a", "a1", "connections.foreign_connection", "dag_ids.namespace"),
    _verdict("team_b", "b1", "connections.foreign_connection", revision="r1"),
    _verdict(None, "orphan", "bundles.teamless_bundle"),
]


def _for(readable: set[str | None], **filters: str) -> dict[str, object]:
    report = build_report(VERDICTS, lambda t: t in readable, {"team_a", "team_b"}, STATE, now=NOW, **filters)
    return report.model_dump()


def test_a_user_sees_only_the_teams_they_may_read():
    report = _for({"team_a", None})
    assert report["teams"] == ["team_a"]
    assert [d["dag_id"] for d in report["dags"]] == ["a1", "orphan"]
    assert [r["id"] for r in report["rules"]] == ["connections.foreign_connection"]
    assert report["rules"][0]["actions"] == {"team_a": {"cli": "deny"}}
    assert [e["id"] for e in report["exceptions"]] == ["EXPIRED", "SOON"]


def test_teamless_findings_need_the_right_to_read_teamless_dags():
    assert [d["dag_id"] for d in _for({"team_b"})["dags"]] == ["b1"]


def test_exceptions_are_marked_expired_and_expiring():
    states = {e["id"]: e["state"] for e in _for({"team_a", "team_b"})["exceptions"]}
    assert states == {"EXPIRED": "expired", "SOON": "expiring", "LATER": "active"}


def test_a_team_filter_for_a_team_not_readable_is_ignored():
    report = _for({"team_a"}, team="team_b")
    assert report["selected_team"] is None
    assert [d["dag_id"] for d in report["dags"]] == ["a1"]


def test_the_rule_filter_keeps_matching_dags_and_only_that_rule():
    report = _for({"team_a", "team_b", None}, rule="connections.foreign_connection")
    assert [d["dag_id"] for d in report["dags"]] == ["a1", "b1"]
    assert {f["rule"] for d in report["dags"] for f in d["findings"]} == {"connections.foreign_connection"}


@pytest.mark.parametrize(("readable", "current"), [({"team_a"}, True), ({"team_b"}, False)])
def test_the_revision_per_point_says_whether_opa_still_serves_it(readable, current):
    (revision,) = _for(readable)["revisions"]
    assert (revision["enforcement_point"], revision["current"]) == ("dag_processor", current)


def _posture(component: str, teams: list[str], *finding_teams: str | None) -> PostureReport:
    return PostureReport(
        component=component,
        teams=teams,
        host="h",
        checked_at=NOW,
        processes_inspected=True,
        findings=[
            Finding(check="metadata_db", component=component, team=team, severity="error", message="m",
                    evidence=["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], fix="f")
            for team in finding_teams
        ],
    )  # fmt: skip


POSTURE = [
    _posture("scheduler", ["team_a", "team_b"], "team_a", "team_b"),
    _posture("worker", ["team_b"], "team_b"),
    _posture("api-server", [], None),
]
REFUSALS = [
    RuntimeRefusal(enforcement_point="execution_api", team=team, dag_id=f"{team}__x", task_id="t", rules=[rule],
                   message="refused")
    for team, rule in (("team_a", "connections.foreign_connection"), ("team_b", "variables.foreign_variable"))
]  # fmt: skip


def _with_posture(readable: set[str | None], **filters: str) -> dict[str, object]:
    report = build_report(
        VERDICTS, lambda t: t in readable, {"team_a", "team_b"}, STATE, now=NOW, posture=POSTURE, refusals=REFUSALS,
        **filters,
    )  # fmt: skip
    return report.model_dump()


def test_a_user_sees_the_posture_findings_and_refusals_of_their_teams_only():
    report = _with_posture({"team_a", None})
    shown = {p["component"]: [f["team"] for f in p["findings"]] for p in report["posture"]}
    assert shown == {"scheduler": ["team_a"], "api-server": [None]}  # team B's worker is not shown
    assert [r["team"] for r in report["refusals"]] == ["team_a"]
    assert [p["component"] for p in _with_posture({"team_b"})["posture"]] == ["scheduler", "worker"]
    scheduler = _with_posture({"team_b"})["posture"][0]
    assert (scheduler["teams"], [f["team"] for f in scheduler["findings"]]) == (["team_b"], ["team_b"])


def test_the_team_and_rule_filters_apply_to_refusals():
    assert [r["team"] for r in _with_posture({"team_a", "team_b"}, team="team_b")["refusals"]] == ["team_b"]
    filtered = _with_posture({"team_a", "team_b"}, rule="variables.foreign_variable")["refusals"]
    assert [r["rules"] for r in filtered] == [["variables.foreign_variable"]]


def test_the_page_renders_refusals_and_posture():
    """The template, with Jinja's strict undefined: every field it names exists on the report."""
    from airflow_policies.ui import app
    from airflow_policies.ui.policy_state import ENFORCEMENT_POINTS

    report = build_report(
        VERDICTS, lambda t: True, {"team_a", "team_b"}, STATE, now=NOW, posture=POSTURE, refusals=REFUSALS
    )
    html = app._TEMPLATES.get_template("policies.html").render(
        report=report, by_team=[], rule_ids=[], points=ENFORCEMENT_POINTS, action_teams=[], query=""
    )
    assert html.count('<tr class="refusal">') == 2 and "<code>variables.foreign_variable</code>" in html
    assert html.count('class="posture-finding" data-check="metadata_db"') == 4
    assert 'data-component="api-server"' in html
