"""A team B author triggering team A's DAG and writing into team A's asset namespace."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, Asset

with DAG(
    dag_id="team_b__reach_across",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
):
    TriggerDagRunOperator(
        task_id="kick_team_a",
        trigger_dag_id="team_a__etl",
        outlets=[Asset("s3://team-a/orders")],
    )
