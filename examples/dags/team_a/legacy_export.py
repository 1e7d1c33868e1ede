"""A team A DAG that borrows team B's pool under a time-limited exception (EXC-101 in examples/rollout.yaml)."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG(
    dag_id="team_a__legacy_export",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
):
    BashOperator(task_id="export", bash_command="echo exporting", queue="team_a", pool="team_b_pool")
