"""Pod tasks that name no namespace (one of them mapped) are moved to the team's."""

from __future__ import annotations

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG

START = pendulum.datetime(2026, 1, 1, tz="UTC")
IMAGE = "registry.example.com/team-a/etl:1.4"

with DAG("team_a__etl", schedule=None, start_date=START):
    KubernetesPodOperator(task_id="transform", image=IMAGE)
    KubernetesPodOperator.partial(task_id="fan_out", image=IMAGE).expand(arguments=[["a"], ["b"]])
