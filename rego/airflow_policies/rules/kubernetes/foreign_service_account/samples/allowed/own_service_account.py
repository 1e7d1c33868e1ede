"""A pod run as the team's own service account, and one left to the team's default."""

from __future__ import annotations

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG

START = pendulum.datetime(2026, 1, 1, tz="UTC")
IMAGE = "registry.example.com/team-a/etl:1.4"

with DAG("team_a__etl", schedule=None, start_date=START):
    KubernetesPodOperator(task_id="transform", image=IMAGE, service_account_name="team-a-runner")
    KubernetesPodOperator(task_id="publish", image=IMAGE)
