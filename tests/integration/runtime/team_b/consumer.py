"""Team B's asset and the DAG it schedules. Airflow's own access control lets team A's events trigger it;
the registry gives s3://team-b/ to team B alone, so only the policy stops team A producing into it."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset, AssetAccessControl, task

LEDGER = Asset(
    name="team_b.ledger",
    uri="s3://team-b/ledger",
    extra={"secret": "team-b-only"},
    access_control=AssetAccessControl(producer_teams=["team_a"]),
)

with DAG("team_b__consumer", schedule=[LEDGER], start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task
    def consume() -> str:
        return "consumed"

    consume()
