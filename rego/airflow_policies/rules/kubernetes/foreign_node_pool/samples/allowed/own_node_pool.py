"""A pod on the team's own node pool, chosen through nodeSelector and tolerated."""

from __future__ import annotations

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG
from kubernetes.client import models as k8s

START = pendulum.datetime(2026, 1, 1, tz="UTC")
POOL = "airflow-policies/node-pool"

with DAG("team_a__etl", schedule=None, start_date=START):
    KubernetesPodOperator(
        task_id="transform",
        image="registry.example.com/team-a/etl:1.4",
        node_selector={POOL: "team-a-pool"},
        tolerations=[k8s.V1Toleration(key=POOL, operator="Equal", value="team-a-pool", effect="NoSchedule")],
    )
