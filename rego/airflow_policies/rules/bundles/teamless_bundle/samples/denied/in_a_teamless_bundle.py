"""A DAG in a bundle no team owns."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("orphan", schedule=None, start_date=START):
    EmptyOperator(task_id="noop")
