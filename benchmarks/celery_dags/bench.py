"""Team A's benchmark DAG: independent tasks that do nothing but start, on Airflow's default queue (routed to
team A's queue by the policy when the benchmark parses it)."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG("team_a__bench", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), max_active_tasks=64):
    for index in range(24):
        BashOperator(task_id=f"task_{index:02d}", bash_command="true")
