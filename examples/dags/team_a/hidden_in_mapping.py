"""Foreign resources hidden in a mapped expand, a notifier and a nested task group."""

from __future__ import annotations

import pendulum
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, TaskGroup

with DAG(
    dag_id="team_a__hidden_in_mapping",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    on_failure_callback=SmtpNotifier(to="ops@example.com", smtp_conn_id="team_b_warehouse"),
):
    SQLExecuteQueryOperator.partial(task_id="query_each", sql="select 1").expand(
        conn_id=["team_a_postgres", "team_b_warehouse"]
    )
    with TaskGroup("outer"), TaskGroup("inner"):
        BashOperator(task_id="heavy", bash_command="echo heavy", pool="team_b_pool")
