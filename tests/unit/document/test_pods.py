"""The pods a task asks for, read from real DAG objects (live and serialized) and real kubernetes-client pods."""

from __future__ import annotations

import pendulum
import pytest
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.secret import Secret
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, TaskGroup, task
from airflow.serialization.serialized_objects import DagSerialization
from kubernetes.client import models as k8s

from airflow_policies.document.builder import build_input
from airflow_policies.document.models import BundleInfo, PodSettings
from airflow_policies.document.pods import executor_pod

BUNDLE = BundleInfo(name="team_a_dags", team="team_a")
START = pendulum.datetime(2026, 1, 1, tz="UTC")
NODE_POOL = "airflow-policies/node-pool"

#: Everything a pod_override can reach for, once.
EVERYTHING = k8s.V1Pod(
    metadata=k8s.V1ObjectMeta(namespace="team-b", labels={"airflow-policies/team": "team_b"}),
    spec=k8s.V1PodSpec(
        service_account_name="team-b-runner",
        host_network=True,
        host_pid=True,
        host_ipc=True,
        security_context=k8s.V1PodSecurityContext(run_as_user=0),
        image_pull_secrets=[k8s.V1LocalObjectReference(name="team-b-registry")],
        containers=[
            k8s.V1Container(
                name="base",
                image="registry.example.com/team-b/tool:1",
                env=[
                    k8s.V1EnvVar(
                        name="PASSWORD",
                        value_from=k8s.V1EnvVarSource(
                            secret_key_ref=k8s.V1SecretKeySelector(name="team-b-db", key="password")
                        ),
                    ),
                    k8s.V1EnvVar(
                        name="MODE",
                        value_from=k8s.V1EnvVarSource(
                            config_map_key_ref=k8s.V1ConfigMapKeySelector(name="team-b-settings", key="mode")
                        ),
                    ),
                ],
                env_from=[k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name="team-b-api"))],
                security_context=k8s.V1SecurityContext(
                    privileged=True,
                    allow_privilege_escalation=True,
                    capabilities=k8s.V1Capabilities(add=["SYS_ADMIN"]),
                ),
            )
        ],
        init_containers=[k8s.V1Container(name="init", image="busybox:1")],
        volumes=[
            k8s.V1Volume(name="root", host_path=k8s.V1HostPathVolumeSource(path="/")),
            k8s.V1Volume(name="tls", secret=k8s.V1SecretVolumeSource(secret_name="team-b-tls")),
            k8s.V1Volume(
                name="both",
                projected=k8s.V1ProjectedVolumeSource(
                    sources=[
                        k8s.V1VolumeProjection(secret=k8s.V1SecretProjection(name="team-b-projected")),
                        k8s.V1VolumeProjection(config_map=k8s.V1ConfigMapProjection(name="team-b-cm")),
                    ]
                ),
            ),
        ],
        node_selector={NODE_POOL: "team-b-pool"},
        affinity=k8s.V1Affinity(
            node_affinity=k8s.V1NodeAffinity(
                required_during_scheduling_ignored_during_execution=k8s.V1NodeSelector(
                    node_selector_terms=[
                        k8s.V1NodeSelectorTerm(
                            match_expressions=[
                                k8s.V1NodeSelectorRequirement(key=NODE_POOL, operator="In", values=["team-b-gpu"])
                            ]
                        )
                    ]
                )
            )
        ),
        tolerations=[k8s.V1Toleration(key=NODE_POOL, value="team-b-pool", effect="NoSchedule")],
    ),
)

EVERYTHING_READ = {
    "namespace": "team-b",
    "service_account": "team-b-runner",
    "images": ["registry.example.com/team-b/tool:1", "busybox:1"],
    "secrets": {
        ("team-b-db", "env"),
        ("team-b-api", "env_from"),
        ("team-b-tls", "volume"),
        ("team-b-projected", "projected_volume"),
        ("team-b-registry", "image_pull_secret"),
    },
    "config_maps": {("team-b-settings", "env"), ("team-b-cm", "projected_volume")},
    "host_network": True,
    "host_pid": True,
    "host_ipc": True,
    "host_paths": ["/"],
    "privileged": True,
    "allow_privilege_escalation": True,
    "capabilities": ["SYS_ADMIN"],
    "run_as_users": [0],
    "node_selector": {NODE_POOL: "team-b-pool"},
    "node_affinity": [{"key": NODE_POOL, "operator": "In", "values": ["team-b-gpu"]}],
    "tolerations": [{"key": NODE_POOL, "operator": None, "value": "team-b-pool", "effect": "NoSchedule"}],
    "labels": {"airflow-policies/team": "team_b"},
}


def _read(pod: PodSettings) -> dict:
    read = pod.model_dump()
    read["secrets"] = {(s.name, s.via) for s in pod.secrets}
    read["config_maps"] = {(c.name, c.via) for c in pod.config_maps}
    return {key: read[key] for key in EVERYTHING_READ}


def _pods(dag: DAG, *, serialized: bool = False) -> dict[str, list[PodSettings]]:
    source = DagSerialization.from_dict(DagSerialization.to_dict(dag)) if serialized else dag
    document = build_input(source, bundle=BUNDLE, enforcement_point="check")
    return {t.task_id: t.pods for t in document.tasks}


@pytest.mark.parametrize("serialized", [False, True], ids=["live", "serialized"])
def test_a_pod_override_is_read_whole_live_and_serialized(serialized):
    """Every setting of a pod_override, as the live DAG holds it and as the scheduler-side points see it."""
    with DAG("team_a__pods", schedule=None, start_date=START) as dag:
        BashOperator(task_id="t", bash_command="true", executor_config={"pod_override": EVERYTHING})
    (pod,) = _pods(dag, serialized=serialized)["t"]
    assert (pod.source, pod.location, pod.verifiable) == ("executor_config", "executor_config.pod_override", True)
    assert _read(pod) == EVERYTHING_READ


def test_the_final_pod_is_read_like_an_override():
    assert _read(executor_pod(EVERYTHING)) == EVERYTHING_READ
    assert executor_pod(EVERYTHING).source == "executor_pod"


def test_a_kubernetes_api_dict_reads_like_the_client_object():
    """pod_template_dict and to_dict() spellings: camelCase and snake_case keys alike."""
    with DAG("team_a__pods", schedule=None, start_date=START) as dag:
        KubernetesPodOperator(
            task_id="kpo",
            image="registry.example.com/team-a/x:1",
            pod_template_dict={
                "metadata": {"namespace": "team-b"},
                "spec": {
                    "serviceAccountName": "team-b-runner",
                    "hostNetwork": True,
                    "containers": [{"name": "base", "envFrom": [{"secretRef": {"name": "team-b-db"}}]}],
                },
            },
        )
    (pod,) = _pods(dag)["kpo"]
    assert (pod.namespace, pod.service_account, pod.host_network) == ("team-b", "team-b-runner", True)
    assert [(s.name, s.via) for s in pod.secrets] == [("team-b-db", "env_from")]


def test_a_pod_template_file_alone_is_a_pod():
    with DAG("team_a__pods", schedule=None, start_date=START) as dag:
        BashOperator(task_id="t", bash_command="true", executor_config={"pod_template_file": "/etc/b.yaml"})
        BashOperator(task_id="plain", bash_command="true", executor_config={"other": 1})
    pods = _pods(dag)
    assert [(p.location, p.pod_template_file) for p in pods["t"]] == [
        ("executor_config.pod_template_file", "/etc/b.yaml")
    ]
    assert pods["plain"] == []


def test_the_operators_arguments_are_its_pod():
    with DAG("team_a__pods", schedule=None, start_date=START) as dag:
        KubernetesPodOperator(
            task_id="kpo",
            namespace="team-b",
            image="registry.example.com/team-b/x:1",
            service_account_name="team-b-runner",
            secrets=[Secret("env", "PASSWORD", "team-b-db", "password"), Secret("volume", "/tls", "team-b-tls")],
            configmaps=["team-b-settings"],
            hostnetwork=True,
            security_context={"runAsUser": 0},
            container_security_context={"privileged": True},
            node_selector={NODE_POOL: "team-b-pool"},
            tolerations=[{"key": NODE_POOL, "value": "team-b-pool"}],
            labels={"airflow-policies/team": "team_b"},
        )
    (pod,) = _pods(dag)["kpo"]
    assert pod.source == "operator" and pod.location.endswith("KubernetesPodOperator")
    assert (pod.namespace, pod.service_account, pod.images) == (
        "team-b",
        "team-b-runner",
        ["registry.example.com/team-b/x:1"],
    )
    assert {(s.name, s.via) for s in pod.secrets} == {("team-b-db", "operator_secret"), ("team-b-tls", "volume")}
    assert [(c.name, c.via) for c in pod.config_maps] == [("team-b-settings", "env_from")]
    assert (pod.host_network, pod.privileged, pod.run_as_users) == (True, True, [0])
    assert pod.node_selector == {NODE_POOL: "team-b-pool"} and pod.tolerations[0]["value"] == "team-b-pool"


def test_a_serialized_operator_keeps_only_its_templated_arguments():
    """What the DAG-processor manager and the scheduler see of an operator's pod: its templated fields (namespace,
    image, config maps, ...); the service account and host access are decided at parse time only."""
    with DAG("team_a__pods", schedule=None, start_date=START) as dag:
        KubernetesPodOperator(
            task_id="kpo",
            namespace="team-b",
            image="x:1",
            service_account_name="sa",
            configmaps=["cm"],
            hostnetwork=True,
        )
    (pod,) = _pods(dag, serialized=True)["kpo"]
    assert (pod.source, pod.namespace, pod.images, [c.name for c in pod.config_maps]) == (
        "operator",
        "team-b",
        ["x:1"],
        ["cm"],
    )
    assert (pod.service_account, pod.host_network) == (None, False)


def test_hidden_escapes_are_found(monkeypatch):
    """default_args, a TaskGroup, a TaskFlow task, a mapped operator (one pod per mapped namespace)."""
    override = {"pod_override": k8s.V1Pod(metadata=k8s.V1ObjectMeta(namespace="team-b"))}
    with DAG("team_a__pods", schedule=None, start_date=START, default_args={"executor_config": override}) as dag:
        BashOperator(task_id="from_default_args", bash_command="true")
        with TaskGroup("group"):

            @task(executor_config=override)
            def taskflow() -> None:
                pass

            taskflow()
        KubernetesPodOperator.partial(task_id="mapped", image="x:1").expand(namespace=["team-a", "team-b"])
    for serialized in (False, True):
        pods = _pods(dag, serialized=serialized)
        assert [p.namespace for p in pods["from_default_args"]] == ["team-b"]
        # default_args reach the TaskFlow task too: its own executor_config wins, the same override.
        assert [p.namespace for p in pods["group.taskflow"]] == ["team-b"]
        assert [(p.source, p.namespace) for p in pods["mapped"] if p.source == "operator"] == [
            ("operator", "team-a"),
            ("operator", "team-b"),
        ]


@pytest.mark.parametrize(
    ("arguments", "unknown"),
    [
        ({"namespace": "{{ var.value.namespace }}"}, "namespace: {{ var.value.namespace }}"),
        ({"service_account_name": 42}, "service_account_name: 42"),
        ({"node_selector": "pool=b"}, "node_selector: pool=b"),
    ],
)
def test_a_setting_that_cannot_be_known_makes_the_pod_unverifiable(arguments, unknown):
    with DAG("team_a__pods", schedule=None, start_date=START) as dag:
        KubernetesPodOperator(task_id="kpo", image="x:1", **arguments)
    (pod,) = _pods(dag)["kpo"]
    assert (pod.verifiable, pod.unverifiable) == (False, [unknown])


def test_a_mapped_argument_from_upstream_is_unverifiable():
    with DAG("team_a__pods", schedule=None, start_date=START) as dag:

        @task
        def namespaces() -> list[str]:
            return ["team-b"]

        KubernetesPodOperator.partial(task_id="mapped", image="x:1").expand(namespace=namespaces())
    (pod,) = _pods(dag)["mapped"]
    assert not pod.verifiable and pod.unverifiable[0].startswith("namespace (mapped): ")


def test_an_override_of_another_type_is_unverifiable():
    with DAG("team_a__pods", schedule=None, start_date=START) as dag:
        BashOperator(task_id="t", bash_command="true", executor_config={"pod_override": {"metadata": "x"}})
        BashOperator(task_id="u", bash_command="true", executor_config={"pod_override": object()})
    pods = _pods(dag)
    assert pods["t"][0].verifiable is False
    assert pods["u"][0].verifiable is False and pods["u"][0].unverifiable[0].startswith("executor_config.pod_override")


def test_tasks_without_pods_have_none():
    with DAG("team_a__pods", schedule=None, start_date=START) as dag:
        BashOperator(task_id="t", bash_command="true")
    assert _pods(dag) == {"t": []}


def test_a_serialized_mapped_operator_reads_its_partial_objects_back():
    """A serialized mapped operator keeps kubernetes objects of partial() as text (their to_dict(), the provider's
    Secret repr): read back as literals, never evaluated, so the scheduler side sees the same pods."""
    with DAG("team_a__pods", schedule=None, start_date=START) as dag:
        KubernetesPodOperator.partial(
            task_id="mapped",
            image="registry.example.com/team-a/etl:1",
            init_containers=[k8s.V1Container(name="wait", image="busybox:1.36")],
            volumes=[k8s.V1Volume(name="tls", secret=k8s.V1SecretVolumeSource(secret_name="team-b-tls"))],
            secrets=[Secret("volume", "/etc/a, b", "team-b-db", "password")],
        ).expand(arguments=[["a"], ["b"]])
    live, serialized = (_pods(dag, serialized=flag)["mapped"] for flag in (False, True))
    assert serialized == live
    (pod,) = serialized
    assert pod.verifiable and pod.images == ["registry.example.com/team-a/etl:1", "busybox:1.36"]
    assert {(s.name, s.via) for s in pod.secrets} == {("team-b-tls", "volume"), ("team-b-db", "volume")}


def test_text_that_is_not_a_literal_is_unverifiable():
    """A dict-looking string that is not a Python literal is not evaluated: the pod is unverifiable."""
    with DAG("team_a__pods", schedule=None, start_date=START) as dag:
        KubernetesPodOperator.partial(task_id="mapped", image="x:1", volumes=["{'secret': __import__('os')}"]).expand(
            arguments=[["a"]]
        )
    (pod,) = _pods(dag)["mapped"]
    assert not pod.verifiable and pod.secrets == []
