"""Team A's compliant ETL: admitted, and routed to team A's queue and pool by the policy."""

from __future__ import annotations

import pendulum
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Asset

prices = Asset("s3://team-b/public/prices")  # shared with team A by team B
orders = Asset("s3://team-a/orders")

with DAG(
    dag_id="team_a__etl",
    schedule=[prices],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    tags=["etl"],
):
    load = SQLExecuteQueryOperator(task_id="load", conn_id="team_a_postgres", sql="select 1")
    report = BashOperator(
        task_id="report",
        bash_command="echo {{ var.value.team_a_threshold }}",
        outlets=[orders],
    )
    load >> report
