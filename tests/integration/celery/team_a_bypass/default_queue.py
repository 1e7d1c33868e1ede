"""Team A's task on Airflow's default queue, persisted unrouted by a DAG processor whose checks are switched
off: the scheduler's re-check routes the task instance to team A's queue, where team A's worker runs it."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG("team_a__bypass_default_queue", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    BashOperator(task_id="run_unrouted", bash_command="echo team A code")
