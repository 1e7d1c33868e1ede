"""The kubernetes_executor point: the task instance comes from the executor's own construct_pod call (never from
the pod), a refusal fails the pod, no decision fails closed, and a changed provider internal is refused loudly."""

from __future__ import annotations

import logging
import types

import pytest
from airflow.providers.cncf.kubernetes import pod_generator
from airflow.providers.cncf.kubernetes.exceptions import PodMutationHookException
from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator
from kubernetes.client import models as k8s

from airflow_policies.enforcement import import_hooks, kubernetes_executor
from airflow_policies.enforcement.kubernetes_executor import PodRefusedError, TaskInstanceKey, _Verdict
from tests.unit.enforcement.test_execution_api import _configured

KEY = TaskInstanceKey("team_a__etl", "load", "manual__1", -1)
BASE = k8s.V1Pod(metadata=k8s.V1ObjectMeta(name="x"), spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="base")]))


def _construct(override: k8s.V1Pod | None = None, *, with_mutation_hook: bool = True) -> k8s.V1Pod:
    return PodGenerator.construct_pod(
        dag_id=KEY.dag_id, task_id=KEY.task_id, pod_id="pod", try_number=1, kube_image="apache/airflow:3.3.2",
        date=None, args=["airflow"], pod_override_object=override, base_worker_pod=BASE, namespace="airflow",
        scheduler_job_id="1", run_id=KEY.run_id, map_index=KEY.map_index, with_mutation_hook=with_mutation_hook,
    )  # fmt: skip


def test_the_pinned_provider_is_wrapped():
    """Loading the policy wrapped the executor's pod building as soon as the provider was imported."""
    assert PodGenerator.construct_pod.__wrapped__ is not None


@pytest.fixture
def hook_calls(monkeypatch) -> list:
    """What pod_mutation_hook saw: the task instance the executor is building for, and the pod."""
    calls: list = []

    def hook(pod):
        calls.append((kubernetes_executor._BUILDING.get(), pod))
        kubernetes_executor.decide_pod(pod)

    monkeypatch.setattr("airflow.settings.pod_mutation_hook", hook)
    return calls


def test_the_hook_learns_the_task_instance_from_the_executors_call_not_the_pod(hook_calls, monkeypatch):
    """An override naming another DAG in its labels and annotations wins the merge, but not the key."""
    decided: list = []
    monkeypatch.setattr(
        kubernetes_executor, "_decide", lambda key, pod: decided.append(key) or _Verdict(True, (), None)
    )
    forged = k8s.V1Pod(metadata=k8s.V1ObjectMeta(labels={"dag_id": "team_b__x"}, annotations={"dag_id": "team_b__x"}))
    pod = _construct(forged)
    assert pod.metadata.annotations["dag_id"] == "team_b__x"  # the author's, as the provider merges
    assert decided == [KEY] and hook_calls[0][0] == KEY
    assert kubernetes_executor._BUILDING.get() is None  # only while the executor builds


def test_outside_the_executors_build_the_hook_decides_nothing(monkeypatch):
    """A KubernetesPodOperator calls the hook in the task's own process: no trusted task instance, no decision."""
    monkeypatch.setattr(kubernetes_executor, "_decide", lambda key, pod: pytest.fail("decided without a key"))
    pod = k8s.V1Pod(metadata=k8s.V1ObjectMeta(namespace="team-b"))
    kubernetes_executor.decide_pod(pod)
    assert pod.metadata.namespace == "team-b"


def test_a_refused_pod_fails_with_the_policy_message(hook_calls, monkeypatch):
    message = "DAG 'team_a__etl' (bundle 'team_a_dags', team 'team_a') breaks 1 team-boundary rule: ..."
    monkeypatch.setattr(kubernetes_executor, "_decide", lambda key, pod: _Verdict(False, (), message))
    with pytest.raises(PodMutationHookException) as raised:
        _construct()
    assert isinstance(raised.value.__cause__, PodRefusedError) and str(raised.value.__cause__) == message


def test_an_admitted_pod_gets_the_mutations(hook_calls, monkeypatch):
    changes = (
        ("pod_namespace", "team-a"),
        ("pod_service_account", "team-a-runner"),
        ("pod_node_selector", {"pool": "team-a"}),
        ("pod_labels", {"airflow-policies/team": "team_a"}),
    )
    monkeypatch.setattr(kubernetes_executor, "_decide", lambda key, pod: _Verdict(True, changes, None))
    pod = _construct(k8s.V1Pod(spec=k8s.V1PodSpec(containers=[], node_selector={"disk": "ssd"})))
    assert (pod.metadata.namespace, pod.spec.service_account_name) == ("team-a", "team-a-runner")
    assert pod.spec.node_selector == {"disk": "ssd", "pool": "team-a"}
    assert pod.metadata.labels["airflow-policies/team"] == "team_a" and pod.metadata.labels["dag_id"] == "team_a__etl"


def _unreadable_db(key, pod):
    raise LookupError("the metadata DB has no task instance")


def test_no_decision_fails_the_pod_closed(hook_calls, monkeypatch):
    monkeypatch.setattr(kubernetes_executor, "_decide", _unreadable_db)
    with pytest.raises(PodMutationHookException) as raised:
        _construct()
    assert "could not decide on the pod" in str(raised.value.__cause__)
    assert "no task instance" in str(raised.value.__cause__)


def test_no_decision_admits_the_pod_when_the_point_fails_open(hook_calls, monkeypatch, caplog):
    monkeypatch.setattr(kubernetes_executor, "_decide", _unreadable_db)
    with _configured(monkeypatch, "AIRFLOW__AIRFLOW_POLICIES__FAILURE_MODE", '{"kubernetes_executor": "open"}'):
        pod = _construct()
    assert pod.metadata.namespace == "airflow"
    assert "admits the pod" in caplog.text


def test_the_point_switched_off_decides_nothing(hook_calls, monkeypatch):
    monkeypatch.setattr(kubernetes_executor, "_decide", _unreadable_db)
    with _configured(monkeypatch, "AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS", '["kubernetes_executor"]'):
        assert _construct().metadata.namespace == "airflow"


@pytest.mark.parametrize(
    "changed",
    [
        types.SimpleNamespace(),  # no PodGenerator
        types.SimpleNamespace(PodGenerator=type("PodGenerator", (), {"construct_pod": staticmethod(lambda: None)})),
        types.SimpleNamespace(
            PodGenerator=type("PodGenerator", (), {"construct_pod": classmethod(lambda cls, dag_id, task_id: None)})
        ),
    ],
    ids=["no-class", "not-a-classmethod", "no-run-id"],
)
def test_a_changed_provider_is_refused_and_logged(changed, caplog):
    """Nothing is wrapped half-way: the error names the internal, so the deployer knows pods go undecided."""
    changed.__name__ = pod_generator.__name__
    with caplog.at_level(logging.ERROR):
        import_hooks._apply(changed, kubernetes_executor._wrap_construct_pod, kubernetes_executor._skipped)
    assert "cannot decide KubernetesExecutor pods" in caplog.text
    assert "construct_pod" in caplog.text
