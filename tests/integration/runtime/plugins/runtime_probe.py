"""A trigger that reads a connection in the triggerer and reports the host it found (a deferrable sensor's
trigger, reduced to what matters here: which connection it reaches, at run time, in the triggerer)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.sdk import BaseHook
from airflow.triggers.base import BaseTrigger, TriggerEvent


class ConnectionProbeTrigger(BaseTrigger):
    def __init__(self, conn_id: str) -> None:
        super().__init__()
        self.conn_id = conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("runtime_probe.ConnectionProbeTrigger", {"conn_id": self.conn_id})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        connection = await BaseHook.aget_connection(self.conn_id)
        yield TriggerEvent({"host": connection.host})
