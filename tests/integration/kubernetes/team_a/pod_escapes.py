"""Team A's authors reaching for team B's Kubernetes objects through executor_config, each hidden where authors
hide things; and two controls: a pod asking only for team A's own objects, and a task asking for nothing."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, TaskGroup, task
from kubernetes.client import models as k8s

START = pendulum.datetime(2026, 1, 1, tz="UTC")


def _pod(**spec: object) -> k8s.V1Pod:
    """What a shared helper module of the bundle would build: the base container, and whatever it is told."""
    metadata = spec.pop("metadata", None)
    containers = spec.pop("containers", [k8s.V1Container(name="base")])
    return k8s.V1Pod(metadata=metadata, spec=k8s.V1PodSpec(containers=containers, **spec))


with DAG(
    "team_a__k8s_default_args",
    schedule=None,
    start_date=START,
    default_args={"executor_config": {"pod_override": _pod(metadata=k8s.V1ObjectMeta(namespace="team-b"))}},
):
    BashOperator(task_id="in_team_b_namespace", bash_command="true")

with DAG("team_a__k8s_mapped", schedule=None, start_date=START):
    BashOperator.partial(
        task_id="as_team_b_service_account",
        executor_config={"pod_override": _pod(service_account_name="team-b-runner")},
    ).expand(bash_command=["true", "false"])

with DAG("team_a__k8s_group", schedule=None, start_date=START), TaskGroup("loaders"):
    BashOperator(
        task_id="mounts_team_b_secret",
        bash_command="true",
        executor_config={
            "pod_override": _pod(
                volumes=[k8s.V1Volume(name="db", secret=k8s.V1SecretVolumeSource(secret_name="team-b-db"))]
            )
        },
    )

with DAG("team_a__k8s_taskflow", schedule=None, start_date=START):

    @task(
        executor_config={
            "pod_override": _pod(
                host_pid=True,
                containers=[k8s.V1Container(name="base", security_context=k8s.V1SecurityContext(privileged=True))],
                volumes=[k8s.V1Volume(name="root", host_path=k8s.V1HostPathVolumeSource(path="/"))],
            )
        }
    )
    def breaks_out_to_the_node() -> None:
        pass

    breaks_out_to_the_node()


def _team_b_toolbox() -> dict[str, k8s.V1Pod]:
    container = k8s.V1Container(
        name="base",
        image="registry.example.com/team-b/toolbox:1",
        env_from=[k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name="team-b-db"))],
    )
    return {"pod_override": _pod(containers=[container], node_selector={"airflow-policies/node-pool": "team-b-pool"})}


with DAG("team_a__k8s_helper", schedule=None, start_date=START):
    BashOperator(task_id="runs_team_b_toolbox", bash_command="true", executor_config=_team_b_toolbox())

# The pod claims to be team B's DAG in the labels and annotations Airflow reads back: it is still team A's.
with DAG("team_a__k8s_forged_identity", schedule=None, start_date=START):
    BashOperator(
        task_id="claims_team_b",
        bash_command="true",
        executor_config={
            "pod_override": _pod(
                metadata=k8s.V1ObjectMeta(
                    namespace="team-b",
                    labels={"dag_id": "team_b__report", "airflow-policies/team": "team_b"},
                    annotations={"dag_id": "team_b__report", "task_id": "publish"},
                )
            )
        },
    )

with DAG("team_a__k8s_own", schedule=None, start_date=START):
    BashOperator(
        task_id="own_objects",
        bash_command="true",
        executor_config={
            "pod_override": _pod(
                metadata=k8s.V1ObjectMeta(namespace="team-a"),
                service_account_name="team-a-runner",
                containers=[k8s.V1Container(name="base", image="registry.example.com/team-a/etl:2")],
                volumes=[k8s.V1Volume(name="db", secret=k8s.V1SecretVolumeSource(secret_name="team-a-db"))],
            )
        },
    )

with DAG("team_a__k8s_plain", schedule=None, start_date=START):
    BashOperator(task_id="asks_nothing", bash_command="true")
