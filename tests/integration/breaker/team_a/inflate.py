"""Team A's attempt to switch the Execution API guard off for everyone on the host: one task reports so many
asset events that its decision times out in OPA, hoping to open the circuit breaker every process shares (with
failure_mode execution_api: open, every later call would then be admitted unchecked). After it, a task reads
team B's connection, and a control reads team A's own."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset, AssetAlias, BaseHook, get_current_context, task

with DAG("team_a__inflate", schedule="@once", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task(outlets=[AssetAlias("team_a.many")])
    def inflate() -> None:
        events = get_current_context()["outlet_events"][AssetAlias("team_a.many")]
        for n in range(900):  # under the guard's 1,000 names per call: this one is decided, slowly
            events.add(Asset(name=f"team_a.event_{n:04}_{'x' * 40}", uri=f"s3://team-a/many/{n:04}/{'y' * 60}"))

    @task(trigger_rule="all_done")
    def after() -> str | None:
        return BaseHook.get_connection("team_b_" + "warehouse").host

    @task(trigger_rule="all_done")
    def control() -> str | None:
        return BaseHook.get_connection("team_a_postgres").host

    first = inflate()
    first >> after()
    first >> control()
