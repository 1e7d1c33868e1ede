"""Team A writes the state store of team B's asset (e.g. a watcher's cursor), named only at run time."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task


def _write(uri: str, value: str) -> None:
    from airflow.sdk.execution_time.context import AssetStateStoreAccessor

    AssetStateStoreAccessor(uri=uri).set("cursor", value)


with DAG("team_a__asset_state", schedule="@once", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task
    def attack() -> None:
        _write("s3://team-b/" + "ledger", "hijacked by team a")

    @task
    def control() -> None:
        _write("s3://team-a/out", "team a's own cursor")

    attack()
    control()
