"""The OPA client across fork: the DAG-processor manager asks OPA and then forks parse children, which ask
OPA too when they decide (a callback run, or with the manager's decision switched off). Each process must get
the answer to its own question (a keep-alive socket inherited across the fork would interleave them: a child
once got the decision meant for another DAG)."""

from __future__ import annotations

import os

from airflow_policies._config import load_settings
from airflow_policies.decision.opa_client import OpaEvaluator
from airflow_policies.document.models import AirflowInfo, BundleInfo, DagInfo, InputDocument, TaskInfo

ROUNDS = 30


def _document(dag_id: str, task_id: str) -> InputDocument:
    task = TaskInfo(
        task_id=task_id, operator="x.EmptyOperator", task_group=None, is_mapped=False, is_setup=False,
        is_teardown=False, owner="airflow", queue="default", pool="default_pool", pool_slots=1, executor=None,
        run_as_user=None, executor_config={}, retries=0, execution_timeout=None, inlets=[], outlets=[],
        dag_refs=[], connections=[], variables=[], callbacks=[],
    )  # fmt: skip
    return InputDocument(
        enforcement_point="dag_processor",
        airflow=AirflowInfo(version="3.3.2", default_queue="default", default_pool="default_pool"),
        bundle=BundleInfo(name="team_a_dags", team="team_a"),
        dag=DagInfo(
            dag_id=dag_id,
            relative_fileloc=None,
            owner="airflow",
            tags=[],
            schedule_assets=[],
            callbacks=[],
            connections=[],
        ),
        tasks=[task],
    )


def _routed_tasks(evaluator: OpaEvaluator, task_id: str) -> set[str | None]:
    decision = evaluator.evaluate(_document(f"team_a__{task_id}", task_id))
    return {task_id for m in decision.mutations for task_id in m.task_ids} - {None}


def test_parent_and_forked_children_each_get_their_own_answers(opa_url):
    """The parent holds an open connection; children forked from it and the parent then ask in parallel."""
    evaluator = OpaEvaluator(load_settings(environ={}, opa_url=opa_url))
    assert _routed_tasks(evaluator, "parent_warmup") == {"parent_warmup"}
    children = []
    for index in range(4):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            wrong = sum(_routed_tasks(evaluator, f"child{index}_{n}") != {f"child{index}_{n}"} for n in range(ROUNDS))
            os._exit(min(wrong, 100))
        children.append(pid)
    parent_wrong = sum(_routed_tasks(evaluator, f"parent_{n}") != {f"parent_{n}"} for n in range(ROUNDS))
    child_wrong = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
    assert (parent_wrong, child_wrong) == (0, [0, 0, 0, 0])
