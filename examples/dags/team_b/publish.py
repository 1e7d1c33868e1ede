"""Team B's compliant publisher of the prices asset it shares with team A."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Asset

with DAG(
    dag_id="team_b__publish",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
):
    BashOperator(
        task_id="publish_prices",
        bash_command="echo publishing",
        queue="team_b",
        pool="team_b_pool",
        outlets=[Asset("s3://team-b/public/prices")],
    )
