"""Team B's Variable in a template."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("team_a__etl", schedule=None, start_date=START):
    BashOperator(task_id="echo", bash_command="echo {{ var.value.team_b_token }}")
