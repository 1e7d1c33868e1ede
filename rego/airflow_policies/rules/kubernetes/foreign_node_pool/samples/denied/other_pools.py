"""Team B's node pool through node affinity and a toleration, and an unregistered GPU pool through an executor
pod's nodeSelector."""

from __future__ import annotations

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
from kubernetes.client import models as k8s

START = pendulum.datetime(2026, 1, 1, tz="UTC")
POOL = "airflow-policies/node-pool"
ON_TEAM_B = k8s.V1Affinity(
    node_affinity=k8s.V1NodeAffinity(
        required_during_scheduling_ignored_during_execution=k8s.V1NodeSelector(
            node_selector_terms=[
                k8s.V1NodeSelectorTerm(
                    match_expressions=[k8s.V1NodeSelectorRequirement(key=POOL, operator="In", values=["team-b-pool"])]
                )
            ]
        )
    )
)

with DAG("team_a__etl", schedule=None, start_date=START):
    KubernetesPodOperator(
        task_id="transform",
        image="registry.example.com/team-a/etl:1.4",
        affinity=ON_TEAM_B,
        tolerations=[k8s.V1Toleration(key=POOL, operator="Equal", value="team-b-pool", effect="NoSchedule")],
    )
    BashOperator(
        task_id="train",
        bash_command="echo train",
        executor_config={"pod_override": k8s.V1Pod(spec=k8s.V1PodSpec(containers=[], node_selector={POOL: "gpu"}))},
    )
