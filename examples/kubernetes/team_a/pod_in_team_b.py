"""A team A author asking the KubernetesExecutor for a pod in team B's namespace, with team B's database Secret."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
from kubernetes.client import models as k8s

TEAM_B_POD = k8s.V1Pod(
    metadata=k8s.V1ObjectMeta(namespace="team-b"),
    spec=k8s.V1PodSpec(
        containers=[
            k8s.V1Container(
                name="base",
                env_from=[k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name="team-b-db"))],
            )
        ]
    ),
)

with DAG("team_a__pods", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    BashOperator(task_id="load", bash_command="echo loading", executor_config={"pod_override": TEAM_B_POD})
