"""A watcher on team A's own asset running a trigger of the standard provider, which the registry lists
globally."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.triggers.file import FileDeleteTrigger
from airflow.sdk import DAG, Asset, AssetWatcher

START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG(
    "team_a__etl",
    schedule=[
        Asset("s3://team-a/landing", watchers=[AssetWatcher(name="landing", trigger=FileDeleteTrigger(filepath="/in"))])
    ],
    start_date=START,
):
    EmptyOperator(task_id="noop")
