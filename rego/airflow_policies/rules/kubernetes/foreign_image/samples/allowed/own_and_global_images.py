"""The team's own image, and the global Airflow image in an executor pod."""

from __future__ import annotations

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
from kubernetes.client import models as k8s

START = pendulum.datetime(2026, 1, 1, tz="UTC")
BASE = k8s.V1Container(name="base", image="apache/airflow:3.3.2-python3.11")

with DAG("team_a__etl", schedule=None, start_date=START):
    KubernetesPodOperator(task_id="transform", image="registry.example.com/team-a/etl:1.4")
    BashOperator(
        task_id="report",
        bash_command="echo report",
        executor_config={"pod_override": k8s.V1Pod(spec=k8s.V1PodSpec(containers=[BASE]))},
    )
