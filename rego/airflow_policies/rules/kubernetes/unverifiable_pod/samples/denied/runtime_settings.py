"""A namespace from the run's conf, and images mapped over an upstream task's output."""

from __future__ import annotations

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG, task

START = pendulum.datetime(2026, 1, 1, tz="UTC")


@task
def images() -> list[str]:
    return ["registry.example.com/team-a/etl:1.4"]


with DAG("team_a__etl", schedule=None, start_date=START):
    KubernetesPodOperator(
        task_id="transform",
        namespace="{{ dag_run.conf['namespace'] }}",
        image="registry.example.com/team-a/etl:1.4",
    )
    KubernetesPodOperator.partial(task_id="fan_out").expand(image=images())
