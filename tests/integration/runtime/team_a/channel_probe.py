"""Team A's code reaching team B's connection, Variable, XComs and task instances through the channels that do not
go through the API server: top-level DAG-file code and a DAG callback (the DAG processor's in-process Execution
API) and a trigger (its triggerer's). Each also does the same on team A's own resources, as the control. The
outcomes land in ``$AIRFLOW_HOME/channel-probe`` (the parse and the callback) and in the trigger task's XCom."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, BaseOperator, get_parsing_context
from team_a_triggers import ChannelProbeTrigger, channel_probe, record_channel_probe

# The DAG processor parses with no target DAG; a worker starting a task (whose re-parse the API server's guard
# decides) names one.
if get_parsing_context().dag_id is None:
    record_channel_probe(
        "dag_file", {"team_b": channel_probe("team_b", write=True), "team_a": channel_probe("team_a", write=False)}
    )


def on_failure(context) -> None:
    record_channel_probe(
        "dag_callback", {"team_b": channel_probe("team_b", write=True), "team_a": channel_probe("team_a", write=False)}
    )


class ChannelProbeSensor(BaseOperator):
    def __init__(self, *, team: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.team = team

    def execute(self, context) -> None:
        self.defer(trigger=ChannelProbeTrigger(team=self.team), method_name="done")

    def done(self, context, event: dict) -> dict:
        return event


class Fail(BaseOperator):
    def execute(self, context) -> None:
        raise RuntimeError("fails on purpose, so the DAG-level failure callback runs in the DAG processor")


with DAG(
    "team_a__channel_probe",
    schedule="@once",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    on_failure_callback=on_failure,
):
    ChannelProbeSensor(task_id="trigger_attack", team="team_b")
    ChannelProbeSensor(task_id="trigger_control", team="team_a")
    Fail(task_id="fail", retries=0)
