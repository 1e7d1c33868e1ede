"""Airflow's audit log as the record the Airflow UI can show: the run-time refusals of team code, and each
component's posture at start-up.

A decision log is a file on the machine of the process that decided; a refusal of team code at run time (the
Execution API, the triggerer, the DAG processor's channel) is also written to Airflow's ``log`` table, which the
UI's Audit Log lists (Browse > Audit Log, event ``airflow_policies.refused``) and the Policies page reads back.
Writing never changes the outcome: a refusal whose row cannot be written is still a refusal (and is logged).
"""

from __future__ import annotations

import datetime
import json
import logging
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from airflow_policies.document.models import EnforcementPoint
from airflow_policies.posture.models import PostureReport

__all__ = [
    "OWNER",
    "POSTURE_EVENT",
    "REFUSAL_EVENT",
    "RuntimeRefusal",
    "latest_postures",
    "recent_refusals",
    "record_posture",
    "record_refusal",
]

log = logging.getLogger(__name__)

REFUSAL_EVENT = "airflow_policies.refused"
POSTURE_EVENT = "airflow_policies.posture"
#: The audit log's ``owner`` of every row written here (Airflow writes the user who acted).
OWNER = "airflow-policies"


class RuntimeRefusal(BaseModel):
    """One refusal of team code at run time, as the audit log keeps it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recorded_at: datetime.datetime | None = None
    enforcement_point: EnforcementPoint
    team: str | None
    dag_id: str | None
    task_id: str | None
    rules: list[str]
    message: str


#: Attempts at writing one row: a SQLite metadata DB refuses a write while another process holds its lock.
_ATTEMPTS = 3


def _write(event: str, extra: str, dag_id: str | None = None, task_id: str | None = None) -> None:
    from airflow.models.log import Log
    from airflow.utils.session import create_session
    from sqlalchemy.exc import OperationalError

    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with create_session() as session:
                session.add(Log(event=event, owner=OWNER, extra=extra, dag_id=dag_id, task_id=task_id))
            return
        except OperationalError:
            if attempt == _ATTEMPTS:
                log.exception("airflow-policies could not write %s to Airflow's audit log", event)
            else:
                time.sleep(0.2 * attempt)
        except Exception:  # the refusal or the start-up stands; only its row is lost, and said so
            log.exception("airflow-policies could not write %s to Airflow's audit log", event)
            return


def record_refusal(refusal: RuntimeRefusal) -> None:
    """Add one run-time refusal to Airflow's audit log."""
    extra = refusal.model_dump_json(exclude={"recorded_at", "dag_id", "task_id"})
    _write(REFUSAL_EVENT, extra, refusal.dag_id, refusal.task_id)


def record_posture(report: PostureReport) -> None:
    """Add a component's start-up posture report to Airflow's audit log."""
    _write(POSTURE_EVENT, report.model_dump_json())


def recent_refusals(session: Any, since: datetime.datetime) -> list[RuntimeRefusal]:  # noqa: ANN401 - a session
    """The refusals recorded since ``since``, newest first (rows this module did not write are skipped)."""
    from airflow.models.log import Log
    from sqlalchemy import select

    rows = session.scalars(
        select(Log).where(Log.event == REFUSAL_EVENT, Log.owner == OWNER, Log.dttm >= since).order_by(Log.dttm.desc())
    )
    refusals = []
    for row in rows:
        try:
            # The DAG and task are the row's own columns (Airflow's UI filters on them), the rest is its extra.
            stored = json.loads(row.extra or "")
            refusal = RuntimeRefusal.model_validate(
                {**stored, "recorded_at": row.dttm, "dag_id": row.dag_id, "task_id": row.task_id}
            )
        except (ValueError, TypeError, ValidationError):
            continue
        refusals.append(refusal)
    return refusals


def latest_postures(session: Any, since: datetime.datetime) -> list[PostureReport]:  # noqa: ANN401 - a session
    """The newest posture report of each component on each host (and team set) since ``since``."""
    from airflow.models.log import Log
    from sqlalchemy import select

    rows = session.scalars(
        select(Log).where(Log.event == POSTURE_EVENT, Log.owner == OWNER, Log.dttm >= since).order_by(Log.dttm.desc())
    )
    newest: dict[tuple[str, str, tuple[str, ...]], PostureReport] = {}
    for row in rows:
        try:
            report = PostureReport.model_validate_json(row.extra or "")
        except ValidationError:
            continue
        newest.setdefault((report.component, report.host, tuple(report.teams)), report)
    return sorted(newest.values(), key=lambda r: (r.component, r.host, r.teams))
