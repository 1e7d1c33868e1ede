"""Team A asks about team B's DAG runs and task states at run time (as an ExternalTaskSensor would)."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, get_current_context, task

with DAG("team_a__state_queries", schedule="@once", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task
    def attack_runs() -> int:
        return get_current_context()["ti"].get_dr_count(dag_id="team_b__" + "ledger")

    @task
    def attack_task_states() -> dict:
        return get_current_context()["ti"].get_task_states(dag_id="team_b__" + "ledger")

    @task
    def control() -> int:
        return get_current_context()["ti"].get_dr_count(dag_id="team_a__state_queries")

    attack_runs()
    attack_task_states()
    control()
