"""Team A's DAG with a deadline alert whose callback the scheduler hands to team A's triggerer as Airflow's
CallbackTrigger: the triggerer would import and run a callable of the author's choosing. No Execution API call
and no parse-time check sees it (a serialized DAG keeps the deadline, not a trigger); the triggerer decides."""

from __future__ import annotations

import time
from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task
from airflow.sdk.definitions.callback import AsyncCallback
from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

with DAG(
    "team_a__deadline_callback",
    schedule="@once",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(seconds=1),
        callback=AsyncCallback("team_a_triggers.escape"),
    ),
):

    @task
    def slow() -> None:
        time.sleep(15)  # the run misses its one-second deadline

    slow()
