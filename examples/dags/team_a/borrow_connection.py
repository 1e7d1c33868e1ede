"""A team A author reaching for team B's warehouse: through default_args and through a template."""

from __future__ import annotations

import pendulum
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG(
    dag_id="team_a__borrow_connection",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    default_args={"conn_id": "team_b_warehouse"},
):
    SQLExecuteQueryOperator(task_id="query_warehouse", sql="select * from sales")
    BashOperator(task_id="print_host", bash_command="echo {{ conn.team_b_warehouse.host }}")
