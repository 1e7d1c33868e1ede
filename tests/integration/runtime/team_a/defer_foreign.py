"""Team A's deferrable sensor hands its trigger a connection chosen at run time: the trigger would read it in
the triggerer, where no Execution API request is made for the read."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, BaseOperator
from team_a_triggers import ConnectionProbeTrigger


class ProbeSensor(BaseOperator):
    def __init__(self, *, target: list[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.target = target

    def execute(self, context) -> None:
        self.defer(trigger=ConnectionProbeTrigger(conn_id="".join(self.target)), method_name="done")

    def done(self, context, event: dict) -> str:
        return event["host"]


with DAG("team_a__defer_foreign", schedule="@once", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):
    ProbeSensor(task_id="attack", target=["team_b_", "warehouse"])
    ProbeSensor(task_id="control", target=["team_a_", "postgres"])
