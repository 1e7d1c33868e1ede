"""Team B's database Secret mounted by a mapped pod task, and read into the environment of another task's
executor pod."""

from __future__ import annotations

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.secret import Secret
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
from kubernetes.client import models as k8s

START = pendulum.datetime(2026, 1, 1, tz="UTC")
PASSWORD = k8s.V1EnvVar(
    name="DB_PASSWORD",
    value_from=k8s.V1EnvVarSource(secret_key_ref=k8s.V1SecretKeySelector(name="team-b-db", key="password")),
)

with DAG("team_a__etl", schedule=None, start_date=START):
    KubernetesPodOperator.partial(
        task_id="transform",
        image="registry.example.com/team-a/etl:1.4",
        secrets=[Secret("volume", "/etc/db", "team-b-db")],
    ).expand(arguments=[["--day", "1"], ["--day", "2"]])
    BashOperator(
        task_id="report",
        bash_command="echo report",
        executor_config={
            "pod_override": k8s.V1Pod(spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="base", env=[PASSWORD])]))
        },
    )
