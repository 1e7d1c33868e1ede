"""A pod that runs as a non-root user without privilege escalation."""

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
        security_context=k8s.V1PodSecurityContext(run_as_user=1000, run_as_non_root=True),
        container_security_context=k8s.V1SecurityContext(allow_privilege_escalation=False),
    )
