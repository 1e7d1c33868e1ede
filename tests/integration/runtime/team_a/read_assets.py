"""Team A reads team B's asset and its events at run time, by asking the supervisor directly: nothing it
declares (no inlet) names them."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task


def _asset_extra(name: str) -> dict:
    from airflow.sdk.execution_time.comms import GetAssetByName
    from airflow.sdk.execution_time.task_runner import SUPERVISOR_COMMS

    return SUPERVISOR_COMMS.send(GetAssetByName(name=name)).extra


def _event_count(uri: str) -> int:
    from airflow.sdk.execution_time.comms import GetAssetEventByAsset
    from airflow.sdk.execution_time.task_runner import SUPERVISOR_COMMS

    return len(SUPERVISOR_COMMS.send(GetAssetEventByAsset(name=None, uri=uri)).asset_events)


with DAG("team_a__read_assets", schedule="@once", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task
    def attack_asset() -> dict:
        return _asset_extra("team_b." + "ledger")

    @task
    def attack_events() -> int:
        return _event_count("s3://team-b/" + "ledger")

    @task
    def control() -> list:
        return [_asset_extra("team_a.out"), _event_count("s3://team-a/out")]

    attack_asset()
    attack_events()
    control()
