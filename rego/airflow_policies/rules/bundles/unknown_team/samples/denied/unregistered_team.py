"""A DAG whose bundle's team is missing from the registry."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("team_x__etl", schedule=None, start_date=START):
    EmptyOperator(task_id="noop")
