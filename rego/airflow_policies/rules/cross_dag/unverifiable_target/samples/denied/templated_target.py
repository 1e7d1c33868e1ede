"""Triggering a DAG chosen at run time."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG

START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("team_a__etl", schedule=None, start_date=START):
    TriggerDagRunOperator(task_id="kick", trigger_dag_id="{{ params.target }}")
