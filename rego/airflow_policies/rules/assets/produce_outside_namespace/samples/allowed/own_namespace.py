"""Producing into the team's own prefix."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset

START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("team_a__etl", schedule=None, start_date=START):
    EmptyOperator(task_id="noop", outlets=[Asset("s3://team-a/orders")])
