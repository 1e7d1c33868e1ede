"""The posture check at each component's start: wrapped on the pinned Airflow, reported three ways, loud when an
internal it wraps changes, and never in the way of the component."""

from __future__ import annotations

import logging
import types
from collections.abc import Iterator

import pytest
from airflow.api_fastapi import app as api_app
from airflow.dag_processing.manager import DagFileProcessorManager
from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
from airflow.jobs.triggerer_job_runner import TriggererJobRunner
from airflow.sdk.observability import stats

from airflow_policies.enforcement import import_hooks, posture_at_startup
from airflow_policies.posture.checks import Deployment
from airflow_policies.posture.models import CHECKS, PostureReport

LOGGER = "airflow_policies.enforcement.posture_at_startup"


def test_the_pinned_airflow_is_wrapped():
    """Loading the policy wrapped the start of every component that serves team code or the Execution API."""
    assert SchedulerJobRunner._execute.__wrapped__ is not None
    assert DagFileProcessorManager.run.__wrapped__ is not None
    assert TriggererJobRunner._execute.__wrapped__ is not None
    assert api_app.create_app.__wrapped__ is not None


@pytest.fixture
def reported(monkeypatch) -> Iterator[dict[str, list]]:
    """What report_posture sent: the audit-log rows and the gauges (a deployment that holds the DB address)."""
    sent: dict[str, list] = {"rows": [], "gauges": []}
    deployment = Deployment(
        multi_team=True, bundles={"team_a_dags": "team_a"}, executors=[], local_executor=False,
        disabled_points=frozenset(), policy_loaded=True,
    )  # fmt: skip
    monkeypatch.setattr(posture_at_startup, "read_deployment", lambda guard_installed=None: deployment)
    monkeypatch.setattr(posture_at_startup, "record_posture", sent["rows"].append)
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql://airflow:pw@db/airflow")

    class Backend:  # as Airflow's statsd / OpenTelemetry loggers are
        def gauge(self, stat, value, rate=1, delta=False, *, tags=None):
            sent["gauges"].append((stat, value, tags))

    stats.initialize(factory=Backend, export_legacy_names=False)
    yield sent
    stats.initialize(factory=None, export_legacy_names=True)


def test_each_finding_is_a_log_line_a_gauge_and_the_report_an_audit_log_row(reported, caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        posture_at_startup.report_posture("triggerer", team="team_a")
    (row,) = reported["rows"]
    assert isinstance(row, PostureReport) and row.component == "triggerer"
    lines = [r for r in caplog.records if r.name == LOGGER]
    assert [(r.levelno, r.getMessage().split(":")[1].strip()) for r in lines] == [
        (logging.ERROR, f"[{f.check}] triggerer/team_a") for f in row.findings
    ]
    assert "pw" not in caplog.text
    tagged = {(tags["check"], tags["severity"]): value for name, value, tags in reported["gauges"] if tags}
    assert tagged[("metadata_db", "error")] == 1
    assert len(tagged) == 2 * len(CHECKS) and sum(tagged.values()) == len(row.findings)  # zeros reset cleared ones


def test_a_check_that_fails_is_logged_and_the_component_starts(monkeypatch, caplog):
    def broken(guard_installed=None):
        raise RuntimeError("configuration unreadable")

    monkeypatch.setattr(posture_at_startup, "read_deployment", broken)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        posture_at_startup.report_posture("scheduler")
    assert "could not check the scheduler's posture at start-up" in caplog.text


def test_the_wrapped_start_checks_first_then_runs_the_component(monkeypatch):
    calls = []
    monkeypatch.setattr(
        posture_at_startup, "report_posture", lambda component, **scope: calls.append((component, scope))
    )

    class Runner:
        def __init__(self, team_name=None):
            self.team_name = team_name

        def _execute(self):
            calls.append("ran")
            return 0

    module = types.ModuleType("airflow.jobs.triggerer_job_runner")
    module.TriggererJobRunner = Runner
    posture_at_startup._wrap_triggerer(module)
    assert Runner("team_a")._execute() == 0
    assert calls == [("triggerer", {"team": "team_a"}), "ran"]


@pytest.mark.parametrize(
    ("module_name", "wrap"),
    [
        ("airflow.jobs.scheduler_job_runner", posture_at_startup._wrap_scheduler),
        ("airflow.dag_processing.manager", posture_at_startup._wrap_dag_processor),
        ("airflow.jobs.triggerer_job_runner", posture_at_startup._wrap_triggerer),
        ("airflow.api_fastapi.app", posture_at_startup._wrap_api_server),
    ],
)
def test_a_changed_airflow_is_reported_not_wrapped(module_name, wrap, caplog):
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        import_hooks._apply(types.ModuleType(module_name), wrap, posture_at_startup._skipped("component"))
    assert "cannot check the component's posture at start-up on this Airflow version" in caplog.text
    assert "is gone or changed" in caplog.text
