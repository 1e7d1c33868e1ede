"""A pod task that names its team's namespace, and an executor_config (moved later, in its final pod)."""

from __future__ import annotations

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
from kubernetes.client import models as k8s

START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("team_a__etl", schedule=None, start_date=START):
    KubernetesPodOperator(task_id="transform", namespace="team-a", image="registry.example.com/team-a/etl:1.4")
    BashOperator(
        task_id="report",
        bash_command="echo report",
        executor_config={"pod_override": k8s.V1Pod(metadata=k8s.V1ObjectMeta(labels={"app": "report"}))},
    )
