"""The team's own connection and one team B shares with it."""

from __future__ import annotations

import pendulum
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("team_a__etl", schedule=None, start_date=START):
    SQLExecuteQueryOperator(task_id="query", conn_id="team_a_postgres", sql="select 1")
    BashOperator(task_id="call", bash_command="curl {{ conn.team_b_api.host }}")
