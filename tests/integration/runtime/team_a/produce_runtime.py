"""Team A reports asset events into team B's namespace when its tasks finish: through an AssetAlias filled at
run time, and through an outlet added to the task at run time. Parse time sees team A's alias and asset only."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset, AssetAlias, get_current_context, task

OWN = Asset(name="team_a.out", uri="s3://team-a/out")


def _team_b_ledger() -> Asset:
    return Asset(name="team_b." + "ledger", uri="s3://team-b/" + "ledger")


with DAG(
    "team_a__produce_runtime", schedule="@once", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False
):

    @task(outlets=[AssetAlias("team_a.alias")])
    def attack_alias(*, outlet_events=None) -> None:
        outlet_events[AssetAlias("team_a.alias")].add(_team_b_ledger(), extra={"from": "team a"})

    @task(outlets=[OWN])
    def attack_declared() -> None:
        get_current_context()["task"].outlets.append(_team_b_ledger())

    @task(outlets=[AssetAlias("team_a.own_alias"), OWN])
    def control(*, outlet_events=None) -> None:
        outlet_events[AssetAlias("team_a.own_alias")].add(Asset(name="team_a.made", uri="s3://team-a/made"))

    attack_alias()
    attack_declared()
    control()
