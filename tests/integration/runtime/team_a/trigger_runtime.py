"""Team A triggers a DAG run whose target is computed in the task (and raised as TriggerDagRunOperator
raises it), so nothing at parse time names it."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task
from airflow.sdk.exceptions import DagRunTriggerException


def _trigger(dag_id: str) -> None:
    raise DagRunTriggerException(
        trigger_dag_id=dag_id, dag_run_id="from_team_a", conf={}, reset_dag_run=False,
        skip_when_already_exists=False, wait_for_completion=False, allowed_states=["success"],
        failed_states=["failed"], poke_interval=5, deferrable=False,
    )  # fmt: skip


with DAG(
    "team_a__trigger_runtime", schedule="@once", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False
):

    @task
    def attack() -> None:
        _trigger("__".join(["team_b", "ledger"]))

    @task
    def control() -> None:
        _trigger("__".join(["team_a", "target"]))

    attack()
    control()
