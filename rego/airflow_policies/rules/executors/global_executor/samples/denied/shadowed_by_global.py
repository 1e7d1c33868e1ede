"""A team B task naming the class of its team's executor. The deployment also has a global executor of that
class; Airflow's parse check accepts the name as team B's, but the scheduler searches the global executors
first and runs the task on the global one, which the registry opens to no team."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("team_b__etl", schedule=None, start_date=START):
    EmptyOperator(task_id="noop", executor="KubernetesExecutor")
