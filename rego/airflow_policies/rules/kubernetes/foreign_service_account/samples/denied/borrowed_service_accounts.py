"""Team B's service account from a helper that builds the operator, and Kubernetes' default one (which the
registry does not list) in a TaskFlow task's executor_config."""

from __future__ import annotations

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG, task
from kubernetes.client import models as k8s

START = pendulum.datetime(2026, 1, 1, tz="UTC")
AS_DEFAULT = k8s.V1Pod(spec=k8s.V1PodSpec(containers=[], service_account_name="default"))


def pod_task(task_id: str) -> KubernetesPodOperator:
    return KubernetesPodOperator(
        task_id=task_id, image="registry.example.com/team-a/etl:1.4", service_account_name="team-b-runner"
    )


@task(executor_config={"pod_override": AS_DEFAULT})
def summarize() -> None:
    print("summary")


with DAG("team_a__etl", schedule=None, start_date=START):
    pod_task("transform") >> summarize()
