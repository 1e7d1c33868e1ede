"""Team A reads team B's XCom at run time. Airflow 3.3 scopes XComs by team itself; the guard leaves that
check to Airflow, and this DAG shows it holding."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, get_current_context, task

with DAG("team_a__xcom_cross", schedule="@once", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task
    def make() -> str:
        return "team a's value"

    @task
    def attack() -> str:
        return get_current_context()["ti"].xcom_pull(dag_id="team_b__" + "ledger", task_ids="publish", run_id="any")

    @task
    def control(value: str) -> str:
        return value

    attack()
    control(make())
