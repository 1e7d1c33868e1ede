"""An executor pod built from the team's own pod template file."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("team_a__etl", schedule=None, start_date=START):
    BashOperator(
        task_id="report",
        bash_command="echo report",
        executor_config={"pod_template_file": "/opt/airflow/pod_templates/team_a.yaml"},
    )
