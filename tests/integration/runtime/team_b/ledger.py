"""Team B's DAG that team A tries to trigger, query and read at run time."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

with DAG("team_b__ledger", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task
    def publish() -> str:
        return "team b's ledger"

    publish()
