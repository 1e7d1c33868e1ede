"""Team B's settings read by a pod task inside a TaskGroup, and mounted by every task's executor pod through
default_args."""

from __future__ import annotations

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, TaskGroup
from kubernetes.client import models as k8s

START = pendulum.datetime(2026, 1, 1, tz="UTC")
SETTINGS = k8s.V1Volume(name="settings", config_map=k8s.V1ConfigMapVolumeSource(name="team-b-settings"))
MOUNTED = {"pod_override": k8s.V1Pod(spec=k8s.V1PodSpec(containers=[], volumes=[SETTINGS]))}

with DAG("team_a__etl", schedule=None, start_date=START, default_args={"executor_config": MOUNTED}):
    BashOperator(task_id="extract", bash_command="echo extract")
    with TaskGroup("load"):
        KubernetesPodOperator(
            task_id="warehouse",
            image="registry.example.com/team-a/etl:1.4",
            env_from=[k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name="team-b-settings"))],
        )
