"""Team B's warehouse through default_args and through a template."""

from __future__ import annotations

import pendulum
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("team_a__etl", schedule=None, start_date=START, default_args={"conn_id": "team_b_warehouse"}):
    SQLExecuteQueryOperator(task_id="query", sql="select 1")
    BashOperator(task_id="echo", bash_command="echo {{ conn.team_b_warehouse.host }}")
