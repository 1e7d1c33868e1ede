"""Team A's compliant DAG: it reads its own connection and variable at run time."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Connection, Variable, task

with DAG("team_a__allowed", schedule="@once", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task
    def read_own_connection() -> str:
        return f"{Connection.get('team_a_postgres').host} {Variable.get('team_a_threshold')}"

    read_own_connection()
