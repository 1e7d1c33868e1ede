"""Real-world corpora: every example DAG shipped by Airflow core and the installed providers, through
`airflow-policies check`. With a registry that owns everything they use, nothing may crash or fail to be
decided; with the example registry, every finding must be a declared rule with a clear message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import airflow
import pytest
import yaml

from airflow_policies._config import load_settings
from airflow_policies.commands.check import parse_documents
from airflow_policies.decision.opa_client import OpaEvaluator
from airflow_policies.decision.verdict import judge
from airflow_policies.document.models import BundleInfo, InputDocument
from airflow_policies.local.opa_server import local_opa
from airflow_policies.policy.rule_index import declared_rules
from tests.conftest import EXAMPLE_REGISTRY, REPO

AIRFLOW = Path(airflow.__file__).parent
CORPORA = sorted({AIRFLOW / "example_dags", *AIRFLOW.glob("providers/**/example_dags")})
BUNDLE = BundleInfo(name="corpus_dags", team="team_a")
# Findings no registry can permit: references chosen at run time, and lineage objects that name no asset.
UNPERMITTABLE = {
    # Host access and privilege are refused for every team: only a rollout exception excuses them.
    "kubernetes.host_access",
    "kubernetes.privileged",
    "kubernetes.unverifiable_pod",
    "connections.unverifiable_conn_id",
    "variables.unverifiable_variable",
    "cross_dag.unverifiable_target",
    "assets.unknown_asset_reference",
}


@pytest.fixture(scope="module")
def corpus() -> list[tuple[Path, Path, list[InputDocument], list[str]]]:
    """Every corpus file parsed as `check` parses it: (root, file, documents, import errors)."""
    parsed = []
    for root in CORPORA:
        for path in sorted(root.rglob("*.py")):
            if path.name != "__init__.py":
                parsed.append((root, path, *parse_documents(path, root, BUNDLE)))
    return parsed


def _permissive_registry(documents: list[InputDocument]) -> dict:
    """Team A owns every connection, variable, pool, queue, executor, trigger class, trigger callable and
    Kubernetes object the corpus names, and every dag_id, asset and image prefix."""
    kinds = ("connections", "variables", "pools", "queues", "executors", "triggers", "trigger_callables")
    owned: dict[str, set[str]] = {k: set() for k in kinds}
    pod_kinds = ("namespaces", "service_accounts", "secrets", "config_maps", "node_pools", "pod_template_files")
    pods: dict[str, set[str]] = {k: set() for k in pod_kinds}
    for document in documents:
        owned["connections"] |= {c.conn_id for c in document.dag.connections if c.conn_id}
        for asset in document.dag.schedule_assets:
            owned["triggers"] |= {w.trigger for w in asset.watchers}
            owned["trigger_callables"] |= {path for w in asset.watchers for path in w.callables}
        for task in document.tasks:
            owned["connections"] |= {c.conn_id for c in task.connections if c.conn_id}
            owned["variables"] |= {v.key for v in task.variables if v.key}
            owned["pools"] |= {task.pool} if task.pool else set()
            owned["queues"] |= {task.queue} if task.queue else set()
            owned["executors"] |= {task.executor} if task.executor else set()
            for pod in task.pods:
                pods["namespaces"] |= {pod.namespace} if pod.namespace else set()
                pods["service_accounts"] |= {pod.service_account} if pod.service_account else set()
                pods["secrets"] |= {s.name for s in pod.secrets}
                pods["config_maps"] |= {c.name for c in pod.config_maps}
                pods["pod_template_files"] |= {pod.pod_template_file} if pod.pod_template_file else set()
                pods["node_pools"] |= set(pod.node_selector.values()) | {
                    t["value"] for t in pod.tolerations if t["value"]
                }
                pods["node_pools"] |= {v for expression in pod.node_affinity for v in expression["values"]}
    team = {k: sorted(v) for k, v in owned.items()}
    team |= {"dag_id_prefixes": [""], "asset_prefixes": [""], "default_queue": None, "default_pool": None}
    team["kubernetes"] = {k: sorted(v) for k, v in pods.items()} | {"image_prefixes": [""]}
    return {"teamless_bundles": "reject", "global": {}, "teams": {"team_a": team}, "shares": []}


@pytest.fixture(scope="module")
def permissive_registry(corpus, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "registry.yaml"
    path.write_text(yaml.safe_dump(_permissive_registry([d for _, _, documents, _ in corpus for d in documents])))
    return path


def test_the_corpus_is_real():
    """Airflow core's and the providers' example DAGs are all there (dozens of files)."""
    assert AIRFLOW / "example_dags" in CORPORA and len(CORPORA) >= 2
    assert sum(1 for root in CORPORA for _ in root.rglob("*.py")) >= 50


def test_no_internal_error_on_any_example_dag(corpus):
    """The builder never crashes and always yields a valid document; import errors are the files' own."""
    ours = [(path, error) for _, path, _, errors in corpus for error in errors if "airflow_policies" in error
            or "invalid input document" in error]  # fmt: skip
    assert ours == []
    assert sum(len(documents) for _, _, documents, _ in corpus) >= 60


def test_check_with_a_permissive_registry_decides_everything(permissive_registry: Path):
    """`airflow-policies check` over each corpus with a registry that owns everything: every DAG is decided
    (no fail-closed outcome) and the only findings are those no registry can permit."""
    rules: set[str] = set()
    for root in CORPORA:
        result = subprocess.run(
            [sys.executable, "-m", "airflow_policies.cli", "check", str(root), "--bundle", "corpus_dags",
             "--team", "team_a", "--registry", str(permissive_registry), "--format", "json"],
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        assert result.returncode in (0, 1), result.stderr[-3000:]
        report = json.loads(result.stdout)
        dags = [dag for file in report["files"] for dag in file["dags"]]
        assert dags and all(dag["outcome"] in ("admitted", "mutated", "rejected") for dag in dags)
        rules |= {v["rule"] for dag in dags for v in dag["violations"]}
    assert rules <= UNPERMITTABLE, rules - UNPERMITTABLE


def test_every_finding_with_the_example_registry_is_a_declared_rule_with_a_clear_message(corpus):
    """Against the example registry the corpus breaks many rules: each finding names a declared rule, its
    task (or the DAG) and how to fix it."""
    declared = {d.id: d for d in declared_rules((REPO / "rego").resolve())}
    seen = set()
    with local_opa(EXAMPLE_REGISTRY) as url:
        evaluate = OpaEvaluator(load_settings(environ={}, opa_url=url)).evaluate
        for _, _, documents, _ in corpus:
            for document in documents:
                record = judge(document, evaluate, failure_mode="closed", decision_log="none")
                assert record.error is None, record.error
                for v in record.violations:
                    seen.add(v.rule)
                    assert v.rule in declared, v
                    assert v.title == declared[v.rule].title and v.remediation, v
                    where = f"task '{v.task_id}'" if v.task_id else None
                    assert where is None or where in v.message, v
    assert len(seen) >= 5, seen
