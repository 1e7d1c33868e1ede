"""A team A task sent to team B's queue: rejected at parse time (queues.foreign_queue)."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG("team_a__names_team_b_queue", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    BashOperator(task_id="run_on_team_b", bash_command="echo team A code", queue="team_b")
