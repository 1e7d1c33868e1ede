"""Team B's tasks on the executor the scheduler gives a task that names none (team B's own), and on the global
executor the registry opens to every team."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("team_b__etl", schedule=None, start_date=START):
    EmptyOperator(task_id="on_team_executor") >> EmptyOperator(task_id="on_open_global", executor="CeleryExecutor")
