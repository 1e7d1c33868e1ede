"""A pod task that chooses no node pool, and one that only tolerates its team's: both get the team's."""

from __future__ import annotations

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG
from kubernetes.client import models as k8s

START = pendulum.datetime(2026, 1, 1, tz="UTC")
IMAGE = "registry.example.com/team-a/etl:1.4"
TOLERATE = k8s.V1Toleration(key="airflow-policies/node-pool", operator="Equal", value="team-a-pool")

with DAG("team_a__etl", schedule=None, start_date=START):
    KubernetesPodOperator(task_id="transform", image=IMAGE, node_selector={"kubernetes.io/arch": "amd64"})
    KubernetesPodOperator(task_id="publish", image=IMAGE, tolerations=[TOLERATE])
