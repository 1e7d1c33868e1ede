"""A pod task that already carries its team's label."""

from __future__ import annotations

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG

START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("team_a__etl", schedule=None, start_date=START):
    KubernetesPodOperator(
        task_id="transform",
        image="registry.example.com/team-a/etl:1.4",
        labels={"app": "etl", "airflow-policies/team": "team_a"},
    )
