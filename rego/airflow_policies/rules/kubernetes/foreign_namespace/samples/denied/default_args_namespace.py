"""Team B's namespace for every task, through default_args, one of them inside a TaskGroup."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, TaskGroup
from kubernetes.client import models as k8s

START = pendulum.datetime(2026, 1, 1, tz="UTC")
ELSEWHERE = {"pod_override": k8s.V1Pod(metadata=k8s.V1ObjectMeta(namespace="team-b"))}

with DAG("team_a__etl", schedule=None, start_date=START, default_args={"executor_config": ELSEWHERE}):
    BashOperator(task_id="extract", bash_command="echo extract")
    with TaskGroup("load"):
        BashOperator(task_id="warehouse", bash_command="echo load")
