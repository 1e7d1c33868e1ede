"""An unlabelled pod task, and one (through default_args) that claims team B: both get team A's label."""

from __future__ import annotations

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG

START = pendulum.datetime(2026, 1, 1, tz="UTC")
IMAGE = "registry.example.com/team-a/etl:1.4"

with DAG("team_a__etl", schedule=None, start_date=START, default_args={"image": IMAGE}):
    KubernetesPodOperator(task_id="transform")
    KubernetesPodOperator(task_id="publish", labels={"airflow-policies/team": "team_b"})
