"""Pod settings written as literals: templated arguments that are not pod settings are fine."""

from __future__ import annotations

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG

START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("team_a__etl", schedule=None, start_date=START):
    KubernetesPodOperator(
        task_id="transform",
        namespace="team-a",
        image="registry.example.com/team-a/etl:1.4",
        arguments=["--day", "{{ ds }}"],
    )
