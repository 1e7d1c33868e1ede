"""Where ``dag_policy`` decides: everywhere DAG files are parsed, except in a DAG-processor parse child whose
manager decides the parse result (the manager's decision is the DAG processor's one decision per DAG version)."""

from __future__ import annotations

import types
from typing import Any

import pendulum
import pytest
from airflow.sdk import DAG

from airflow_policies.decision.models import parse_decision
from airflow_policies.decision.verdict import judge
from airflow_policies.document.models import InputDocument
from airflow_policies.enforcement import cluster_policies, manager_recheck
from tests.unit.enforcement.test_manager_recheck import WRAP, under_a_manager

START = pendulum.datetime(2026, 1, 1, tz="UTC")
PROCESSOR = "/venv/lib/python3.11/site-packages/airflow/dag_processing/processor.py"


@pytest.fixture
def decided(monkeypatch) -> list[str]:
    points: list[str] = []

    def decide(document: InputDocument) -> Any:
        points.append(document.enforcement_point)
        answer = parse_decision({"result": {"violations": [], "mutations": [], "policy_revision": "r"}}, source="t")
        return judge(document, lambda _: answer, failure_mode="closed", decision_log="none")

    monkeypatch.setattr(cluster_policies, "decide", decide)
    return points


def _parse_in(
    path: str, function: str, *, callbacks: list[str] | None = None, manager: object = None, dag: DAG | None = None
) -> None:
    """Call dag_policy from a function of Airflow's named parse entry point, as its DagBag would; with ``manager``,
    below a frame of a DAG-processor manager whose persist_parsing_result is ``manager`` (a forked parse child)."""
    namespace: dict[str, Any] = {"dag_policy": cluster_policies.dag_policy}
    exec(compile(f"def {function}(msg, log, dag):\n    dag_policy(dag)\n", path, "exec"), namespace)
    msg = types.SimpleNamespace(callback_requests=callbacks or [])

    def parse() -> None:
        namespace[function](msg, None, dag or DAG("team_a__d", schedule=None, start_date=START))

    if manager is None:
        parse()
    else:
        under_a_manager(parse, manager)


def test_a_parse_child_of_the_deciding_manager_makes_no_decision(decided, monkeypatch):
    """Forked by the manager that wraps persist_parsing_result: the child leaves the decision to it."""
    monkeypatch.setattr(manager_recheck, "_wrapper", WRAP)
    _parse_in(PROCESSOR, "_parse_file", manager=WRAP)
    assert decided == []


def test_a_callback_run_still_decides_in_the_child(decided, monkeypatch):
    """A parse that runs DAG callbacks sends the manager no DAG to decide: the child decides, as before."""
    monkeypatch.setattr(manager_recheck, "_wrapper", WRAP)
    _parse_in(PROCESSOR, "_parse_file", callbacks=["a callback request"], manager=WRAP)
    assert decided == ["dag_processor"]


def test_a_dag_launching_pods_still_decides_in_the_child(decided, monkeypatch):
    """A KubernetesPodOperator's service account, Secrets and host access are not in the serialized DAG the
    manager decides: this parse is the only place the DAG processor sees them, so it decides them (advisory)."""
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    monkeypatch.setattr(manager_recheck, "_wrapper", WRAP)
    with DAG("team_a__pods", schedule=None, start_date=START) as dag:
        KubernetesPodOperator(task_id="kpo", image="x:1", service_account_name="team-b-runner")
    _parse_in(PROCESSOR, "_parse_file", manager=WRAP, dag=dag)
    assert decided == ["dag_processor"]


def test_dag_code_that_clears_the_inherited_state_only_makes_the_child_decide(decided, monkeypatch):
    """What the skip reads is the child's own memory, which DAG code can rewrite: then the child decides anyway,
    which is what it did before this change (the manager decides either way)."""
    monkeypatch.setattr(manager_recheck, "_wrapper", None)
    _parse_in(PROCESSOR, "_parse_file", manager=WRAP)
    assert decided == ["dag_processor"]


@pytest.mark.parametrize(
    ("path", "function", "point"),
    [
        ("/venv/airflow/sdk/execution_time/task_runner.py", "parse", "worker"),
        ("/venv/airflow/cli/commands/dag_command.py", "dag_reserialize", "cli"),
    ],
)
def test_where_no_manager_decides_the_parse_decides(decided, monkeypatch, path, function, point):
    """dags reserialize, airflow-policies check, DagBag in process, the worker's re-parse: unchanged, even below a
    deciding manager's frame (only the DAG processor's parse entry point skips)."""
    monkeypatch.setattr(manager_recheck, "_wrapper", WRAP)
    monkeypatch.setenv("AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS", "[]")
    from airflow_policies.local.testing import reload_configuration

    reload_configuration()
    try:
        _parse_in(path, function, manager=WRAP)
    finally:
        monkeypatch.delenv("AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS")
        reload_configuration()
    assert decided == [point]
