"""Kubernetes pods, decided by the kubernetes.* rules: at parse time (`check`), and in the KubernetesExecutor's
`pod_mutation_hook` where no DAG code runs.

The attack DAGs (`kubernetes/team_a/pod_escapes.py`) reach for team B's namespace, service account, Secret,
image and node pool, and for the node itself, each hidden where authors hide things. They are parsed into a real
metadata DB with every parse-time and scheduler point switched off, as if an author had got past them; each task
instance's pod is then built by the real cncf.kubernetes provider exactly as the executor builds it
(`PodGenerator.construct_pod` with the executor's template and `with_mutation_hook=True`, the policy loaded
through its entry point), with the real OPA deciding. No cluster is needed: the pod is refused or mutated before
any API call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec
from tests.conftest import EXAMPLE_DAGS, EXAMPLE_REGISTRY, REPO

ESCAPES = Path(__file__).resolve().parent / "kubernetes" / "team_a"

#: The executor's pod template: namespace and service account left to the executor and the policy.
TEMPLATE = """\
apiVersion: v1
kind: Pod
metadata:
  name: placeholder
spec:
  containers:
    - name: base
      image: apache/airflow:3.3.2
"""

#: Each team A task instance's pod, built as the KubernetesExecutor builds it (_build_pod_request).
_BUILD_PODS = r"""
import json, sys
from airflow.models.taskinstance import TaskInstance
from airflow.providers.cncf.kubernetes.exceptions import PodMutationHookException
from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator
from airflow.utils.session import create_session
from sqlalchemy import select

base = PodGenerator.deserialize_model_file(sys.argv[1])
with create_session() as session:
    instances = session.scalars(select(TaskInstance).where(TaskInstance.dag_id.like("team_a__k8s_%"))).all()
    keys = [(ti.dag_id, ti.task_id, ti.run_id, ti.map_index, ti.executor_config) for ti in instances]
pods = {}
for dag_id, task_id, run_id, map_index, executor_config in keys:
    try:
        pod = PodGenerator.construct_pod(
            namespace="airflow", scheduler_job_id="1", pod_id=f"{dag_id}-{task_id}"[:60].replace("_", "-"),
            dag_id=dag_id, task_id=task_id, kube_image="apache/airflow:3.3.2", try_number=1, date=None,
            run_id=run_id, map_index=map_index, args=["airflow", "tasks", "run"],
            pod_override_object=PodGenerator.from_obj(executor_config or {}), base_worker_pod=base,
            with_mutation_hook=True,
        )
        pods[f"{dag_id}.{task_id}.{map_index}"] = {
            "namespace": pod.metadata.namespace,
            "service_account": pod.spec.service_account_name,
            "node_selector": pod.spec.node_selector,
            "team_label": (pod.metadata.labels or {}).get("airflow-policies/team"),
        }
    except PodMutationHookException as exc:
        pods[f"{dag_id}.{task_id}.{map_index}"] = {"refused": str(exc.__cause__)}
print(json.dumps(pods))
"""

#: Every escape's (task instance, rule the pod breaks): refused by the hook alone.
REFUSED = {
    "team_a__k8s_default_args.in_team_b_namespace.-1": "kubernetes.foreign_namespace",
    "team_a__k8s_mapped.as_team_b_service_account.0": "kubernetes.foreign_service_account",
    "team_a__k8s_mapped.as_team_b_service_account.1": "kubernetes.foreign_service_account",
    "team_a__k8s_group.loaders.mounts_team_b_secret.-1": "kubernetes.foreign_secret",
    "team_a__k8s_taskflow.breaks_out_to_the_node.-1": "kubernetes.host_access",
    "team_a__k8s_helper.runs_team_b_toolbox.-1": "kubernetes.foreign_image",
    "team_a__k8s_forged_identity.claims_team_b.-1": "kubernetes.foreign_namespace",
}
#: What the same escapes break at parse time (the DAG is rejected before any pod exists).
PARSE_TIME = {
    "team_a__k8s_default_args": {"kubernetes.foreign_namespace"},
    "team_a__k8s_mapped": {"kubernetes.foreign_service_account"},
    "team_a__k8s_group": {"kubernetes.foreign_secret"},
    "team_a__k8s_taskflow": {"kubernetes.host_access", "kubernetes.privileged"},
    "team_a__k8s_helper": {"kubernetes.foreign_image", "kubernetes.foreign_secret", "kubernetes.foreign_node_pool"},
    "team_a__k8s_forged_identity": {"kubernetes.foreign_namespace"},
}
_PARSE_AND_SCHEDULER_POINTS = '["dag_processor", "dag_processor_manager", "scheduler", "cli"]'


@pytest.fixture(scope="module")
def deployment(opa_url: str, tmp_path_factory: pytest.TempPathFactory) -> AirflowSandbox:
    """The escapes in the metadata DB (every point before the pod switched off), one run of each DAG."""
    home = tmp_path_factory.mktemp("kubernetes")
    sandbox = AirflowSandbox(
        home=home,
        bundles=[
            BundleSpec("team_a_dags", ESCAPES, "team_a"),
            BundleSpec("team_b_dags", EXAMPLE_DAGS / "team_b", "team_b"),
        ],
        opa_url=opa_url,
        extra_env={
            "AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS": _PARSE_AND_SCHEDULER_POINTS,
            "AIRFLOW__KUBERNETES_EXECUTOR__NAMESPACE": "airflow",
        },
    )
    sandbox.initialise()
    sandbox.airflow("dag-processor", "--num-runs", "1", timeout=240)
    for dag_id in [*PARSE_TIME, "team_a__k8s_own", "team_a__k8s_plain"]:
        sandbox.airflow("dags", "trigger", dag_id)
    (home / "pod_template.yaml").write_text(TEMPLATE)
    sandbox.extra_env["AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS"] = "[]"
    return sandbox


@pytest.fixture(scope="module")
def pods(deployment: AirflowSandbox) -> dict[str, dict]:
    result = subprocess.run(
        [sys.executable, "-c", _BUILD_PODS, str(deployment.home / "pod_template.yaml")],
        env=deployment.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_every_escape_got_into_the_db_and_has_a_task_instance(pods):
    """The setup really got the escapes past parse time: a pod is built for each of their task instances."""
    assert set(REFUSED) | {"team_a__k8s_own.own_objects.-1", "team_a__k8s_plain.asks_nothing.-1"} == set(pods)


@pytest.mark.parametrize("instance", sorted(REFUSED))
def test_the_hook_refuses_each_escape_with_its_rule(pods, instance):
    """The executor's final pod of each escape is refused (the task instance fails) naming the rule."""
    refusal = pods[instance].get("refused")
    assert refusal is not None, pods[instance]
    assert f"[{REFUSED[instance]}]" in refusal
    assert "team 'team_a'" in refusal
    assert "(decided at kubernetes_executor" in refusal


def test_a_forged_identity_is_still_decided_as_team_a(pods):
    """Labels and annotations naming team B's DAG do not make the pod team B's: the task instance comes from the
    executor's own call, its team from the DB."""
    refusal = pods["team_a__k8s_forged_identity.claims_team_b.-1"]["refused"]
    assert "DAG 'team_a__k8s_forged_identity' (bundle 'team_a_dags', team 'team_a')" in refusal


def test_a_pod_of_the_teams_own_objects_is_admitted_and_labelled(pods):
    """Control: namespace, service account, Secret and image of team A's own, unchanged; only the team label added."""
    assert pods["team_a__k8s_own.own_objects.-1"] == {
        "namespace": "team-a",
        "service_account": "team-a-runner",
        "node_selector": {"airflow-policies/node-pool": "team-a-pool"},
        "team_label": "team_a",
    }


def test_a_pod_that_asks_nothing_gets_its_teams_namespace_account_and_node_pool(pods):
    """The executor's default namespace (`airflow`) becomes team A's; its service account and node pool are set."""
    assert pods["team_a__k8s_plain.asks_nothing.-1"] == {
        "namespace": "team-a",
        "service_account": "team-a-runner",
        "node_selector": {"airflow-policies/node-pool": "team-a-pool"},
        "team_label": "team_a",
    }


def test_each_refusal_is_in_airflows_audit_log(deployment, pods):
    """Every refused pod is an `airflow_policies.refused` row of the kubernetes_executor point, with its rule."""
    rows = json.loads(
        deployment.python(
            "import json\n"
            "from airflow.utils.session import create_session\n"
            "from airflow_policies.enforcement.audit_log import recent_refusals\n"
            "import datetime\n"
            "with create_session() as s:\n"
            "    since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)\n"
            "    print(json.dumps([r.model_dump(mode='json') for r in recent_refusals(s, since)]))\n"
        ).splitlines()[-1]
    )
    recorded = {(r["dag_id"], r["task_id"]): r for r in rows if r["enforcement_point"] == "kubernetes_executor"}
    for instance, rule in REFUSED.items():
        dag_id, task_id = instance.split(".", 1)[0], instance.split(".", 1)[1].rsplit(".", 1)[0]
        assert rule in recorded[dag_id, task_id]["rules"], (instance, recorded.get((dag_id, task_id)))
        assert recorded[dag_id, task_id]["team"] == "team_a"


def test_the_same_escapes_are_rejected_at_parse_time():
    """`check` (the parse-time rules, same decision path) rejects each escape DAG before any pod exists."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow_policies.cli", "check", str(ESCAPES), "--bundle", "team_a_dags",
         "--team", "team_a", "--registry", str(EXAMPLE_REGISTRY), "--format", "json"],
        env={k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_POLICIES_"))},
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-2000:]
    dags = {d["dag_id"]: d for f in json.loads(result.stdout)["files"] for d in f["dags"]}
    for dag_id, rules in PARSE_TIME.items():
        denied = {v["rule"] for v in dags[dag_id]["violations"] if v["action"] == "deny"}
        assert dags[dag_id]["outcome"] == "rejected" and rules <= denied, (dag_id, denied)
    assert dags["team_a__k8s_own"]["outcome"] in ("admitted", "mutated")
    assert dags["team_a__k8s_plain"]["outcome"] in ("admitted", "mutated")
