"""A small input document for the Execution API guard's tests: team A's DAG holding the named tasks."""

from __future__ import annotations

from airflow_policies.document.models import AirflowInfo, BundleInfo, DagInfo, InputDocument, TaskInfo


def task(task_id: str) -> TaskInfo:
    """A task on team A's queue and pool that names nothing."""
    return TaskInfo(
        task_id=task_id, operator="x.Op", task_group=None, is_mapped=False, is_setup=False, is_teardown=False,
        owner=None, queue="team_a", pool="team_a_pool", pool_slots=1, executor=None, run_as_user=None,
        executor_config={}, retries=0, execution_timeout=None, inlets=[], outlets=[], dag_refs=[], connections=[],
        variables=[], callbacks=[],
    )  # fmt: skip


def document(*task_ids: str) -> InputDocument:
    """Team A's DAG ``team_a__etl`` at ``execution_api`` with these tasks."""
    return InputDocument(
        enforcement_point="execution_api",
        airflow=AirflowInfo(version="3.3.2", default_queue="default", default_pool="default_pool"),
        bundle=BundleInfo(name="team_a_dags", team="team_a"),
        dag=DagInfo(
            dag_id="team_a__etl", relative_fileloc="etl.py", owner=None, tags=[], schedule_assets=[], callbacks=[],
            connections=[],
        ),
        tasks=[task(task_id) for task_id in task_ids],
    )  # fmt: skip
