"""Team A's DAG on team B's queue, persisted by a DAG processor whose checks are switched off (as DAG code can
switch off the parse-time one): the scheduler's re-check quarantines its task instances."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG("team_a__bypass_foreign_queue", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    BashOperator(task_id="run_on_team_b", bash_command="echo team A code", queue="team_b")
