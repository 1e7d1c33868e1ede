"""Airflow's audit log as the record of run-time refusals and start-up posture: written with retries, read back
for the Policies page (Airflow's own ``log`` table, in a SQLite DB of its own)."""

from __future__ import annotations

import datetime
import logging
from contextlib import contextmanager

import pytest
from airflow.models.log import Log
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from airflow_policies.enforcement import audit_log
from airflow_policies.enforcement.audit_log import RuntimeRefusal
from airflow_policies.posture.models import PostureReport

NOW = datetime.datetime.now(datetime.timezone.utc)
REFUSAL = RuntimeRefusal(
    enforcement_point="execution_api", team="team_a", dag_id="team_a__etl", task_id="load",
    rules=["connections.foreign_connection"], message="refused",
)  # fmt: skip


@pytest.fixture
def db(monkeypatch):
    engine = create_engine("sqlite://")
    Log.__table__.create(engine)
    failures = {"left": 0}

    @contextmanager
    def create_session():
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        with Session(engine) as session:
            yield session
            session.commit()

    monkeypatch.setattr("airflow.utils.session.create_session", create_session)
    monkeypatch.setattr(audit_log.time, "sleep", lambda seconds: None)
    return engine, failures


def _report(component: str, host: str, checked_at: datetime.datetime) -> PostureReport:
    return PostureReport(
        component=component, teams=["team_a"], host=host, checked_at=checked_at, processes_inspected=True, findings=[]
    )


def test_a_refusal_round_trips_through_airflows_log_table(db):
    engine, failures = db
    failures["left"] = 2  # locked twice, then written
    audit_log.record_refusal(REFUSAL)
    with Session(engine) as session:
        (row,) = session.query(Log).all()
        assert (row.event, row.owner, row.dag_id, row.task_id) == ("airflow_policies.refused", "airflow-policies",
                                                                    "team_a__etl", "load")  # fmt: skip
        session.add(Log(event="airflow_policies.refused", owner="someone", extra="{}"))  # not ours: skipped
        session.commit()
        (read,) = audit_log.recent_refusals(session, NOW - datetime.timedelta(hours=1))
    assert read.model_copy(update={"recorded_at": None}) == REFUSAL and read.recorded_at is not None


def test_a_row_that_cannot_be_written_is_logged_and_nothing_raised(db, caplog):
    _, failures = db
    failures["left"] = 3
    with caplog.at_level(logging.ERROR, logger="airflow_policies.enforcement.audit_log"):
        audit_log.record_refusal(REFUSAL)
    assert "could not write airflow_policies.refused to Airflow's audit log" in caplog.text


def test_the_newest_posture_report_of_each_component_and_host(db):
    engine, _ = db
    for component, host, minutes in (("scheduler", "h1", 10), ("scheduler", "h1", 1), ("worker", "h2", 5)):
        audit_log.record_posture(_report(component, host, NOW - datetime.timedelta(minutes=minutes)))
    with Session(engine) as session:
        reports = audit_log.latest_postures(session, NOW - datetime.timedelta(days=1))
    assert [(r.component, r.host) for r in reports] == [("scheduler", "h1"), ("worker", "h2")]
    # Rows are read newest first: the scheduler's last report wins.
    assert reports[0].checked_at == NOW - datetime.timedelta(minutes=1)
