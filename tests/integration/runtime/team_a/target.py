"""Team A's own DAG that its tasks may trigger and query."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

with DAG("team_a__target", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task
    def noop() -> str:
        return "team a's target ran"

    noop()
