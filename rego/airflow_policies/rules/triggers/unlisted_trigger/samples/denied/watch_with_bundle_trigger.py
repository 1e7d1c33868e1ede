"""A watcher running an event trigger shipped in the team's bundle (module ``team_a_landing``), told to import a
callable: the triggerer would import that module and run whatever the callable names. Neither is listed in the
registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset, AssetWatcher
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

START = pendulum.datetime(2026, 1, 1, tz="UTC")


class LandingTrigger(BaseEventTrigger):
    def __init__(self, callback_path: str) -> None:
        super().__init__()
        self.callback_path = callback_path

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("team_a_landing.LandingTrigger", {"callback_path": self.callback_path})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        yield TriggerEvent({})


with DAG(
    "team_a__etl",
    schedule=[
        Asset("s3://team-a/landing", watchers=[AssetWatcher(name="landing", trigger=LandingTrigger("os.system"))])
    ],
    start_date=START,
):
    EmptyOperator(task_id="noop")
