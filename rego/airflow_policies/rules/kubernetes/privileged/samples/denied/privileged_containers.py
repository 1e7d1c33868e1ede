"""A privileged pod task built by a helper, and a TaskFlow task whose executor pod adds SYS_ADMIN."""

from __future__ import annotations

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG, task
from kubernetes.client import models as k8s

START = pendulum.datetime(2026, 1, 1, tz="UTC")
ADMIN = k8s.V1SecurityContext(capabilities=k8s.V1Capabilities(add=["SYS_ADMIN"]))
FUSE = k8s.V1Pod(spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="base", security_context=ADMIN)]))


def privileged_pod(task_id: str) -> KubernetesPodOperator:
    return KubernetesPodOperator(
        task_id=task_id,
        image="registry.example.com/team-a/etl:1.4",
        container_security_context=k8s.V1SecurityContext(privileged=True),
    )


@task(executor_config={"pod_override": FUSE})
def mount_fuse() -> None:
    print("mount")


with DAG("team_a__etl", schedule=None, start_date=START):
    privileged_pod("transform") >> mount_fuse()
