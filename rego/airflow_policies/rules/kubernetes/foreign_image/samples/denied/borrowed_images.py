"""Team B's image from a helper, and an image from Docker Hub in an init container of a mapped pod task."""

from __future__ import annotations

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG
from kubernetes.client import models as k8s

START = pendulum.datetime(2026, 1, 1, tz="UTC")


def team_b_pod(task_id: str) -> KubernetesPodOperator:
    return KubernetesPodOperator(task_id=task_id, image="registry.example.com/team-b/etl:2.0")


with DAG("team_a__etl", schedule=None, start_date=START):
    team_b_pod("transform")
    KubernetesPodOperator.partial(
        task_id="fetch",
        image="registry.example.com/team-a/etl:1.4",
        init_containers=[k8s.V1Container(name="wait", image="busybox:1.36")],
    ).expand(arguments=[["a"], ["b"]])
