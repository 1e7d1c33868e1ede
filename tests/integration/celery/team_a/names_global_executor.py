"""A team A task naming its team's executor class. Airflow's parse check accepts it (team A has a
CeleryExecutor), but the scheduler searches the global executors first and would run it on the global
CeleryExecutor, its broker and workers: rejected at parse time (executors.global_executor)."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG("team_a__names_global_executor", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    BashOperator(task_id="run_on_global", bash_command="echo team A code", executor="CeleryExecutor")
