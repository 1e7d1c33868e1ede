"""A pod that only mounts an emptyDir: nothing of the node."""

from __future__ import annotations

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG
from kubernetes.client import models as k8s

START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("team_a__etl", schedule=None, start_date=START):
    KubernetesPodOperator(
        task_id="transform",
        image="registry.example.com/team-a/etl:1.4",
        volumes=[k8s.V1Volume(name="scratch", empty_dir=k8s.V1EmptyDirVolumeSource())],
    )
