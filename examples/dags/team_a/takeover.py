"""A team A author declaring team B's dag_id and tagging it as team B's."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(
    dag_id="team_b__publish",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    tags=["team:team_b"],
):
    EmptyOperator(task_id="noop")
