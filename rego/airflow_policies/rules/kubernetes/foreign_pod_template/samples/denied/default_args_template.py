"""Team B's pod template file for every task, through default_args, one of them a TaskFlow task."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task

START = pendulum.datetime(2026, 1, 1, tz="UTC")
TEMPLATE = {"pod_template_file": "/opt/airflow/pod_templates/team_b.yaml"}


@task
def summarize() -> None:
    print("summary")


with DAG("team_a__etl", schedule=None, start_date=START, default_args={"executor_config": TEMPLATE}):
    BashOperator(task_id="extract", bash_command="echo extract") >> summarize()
