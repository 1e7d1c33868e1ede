"""The team's own ConfigMap, and team B's public settings that team B shares with it."""

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
        configmaps=["team-a-settings"],
        volumes=[k8s.V1Volume(name="public", config_map=k8s.V1ConfigMapVolumeSource(name="team-b-public-settings"))],
    )
