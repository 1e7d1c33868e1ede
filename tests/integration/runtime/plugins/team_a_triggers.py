"""A trigger that reads a connection in the triggerer and reports the host it found (a deferrable sensor's
trigger, reduced to what matters here: which connection it reaches, at run time, in the triggerer)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.sdk import BaseHook
from airflow.triggers.base import BaseTrigger, TriggerEvent


class ConnectionProbeTrigger(BaseTrigger):
    def __init__(self, conn_id: str) -> None:
        super().__init__()
        self.conn_id = conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("team_a_triggers.ConnectionProbeTrigger", {"conn_id": self.conn_id})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        connection = await BaseHook.aget_connection(self.conn_id)
        yield TriggerEvent({"host": connection.host})


#: What each team's code reaches for through a channel: team B's are the attack, team A's the control.
CHANNEL_TARGETS = {
    "team_b": {"conn": "team_b_warehouse", "variable": "team_b_channel_secret", "dag": "team_b__ledger"},
    "team_a": {"conn": "team_a_postgres", "variable": "team_a_threshold", "dag": "team_a__target"},
}


def _outcome(reach: Any) -> str:
    try:
        return f"served: {reach()!r}"
    except Exception as exc:
        # The task SDK turns a 403 on a connection or Variable read into this error, without the 403's message.
        refused = "airflow_policies" in str(exc) or type(exc).__name__ == "AirflowSecretsBackendAccessDenied"
        return f"{'refused' if refused else 'failed'}: {type(exc).__name__}: {exc}"


def channel_probe(team: str, write: bool) -> dict[str, str]:
    """Reach ``team``'s connection, Variable, XComs and task instances the way DAG-file code, a DAG callback or a
    trigger can, with the names built here (nothing in a kwarg or at parse time names them)."""
    from airflow.sdk import BaseHook, Variable
    from airflow.sdk.bases.xcom import BaseXCom
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    names = CHANNEL_TARGETS[team]
    outcomes = {
        "connection": _outcome(lambda: BaseHook.get_connection(names["conn"]).host),
        "variable": _outcome(lambda: Variable.get(names["variable"])),
        "xcom": _outcome(
            lambda: BaseXCom.get_one(key="return_value", dag_id=names["dag"], task_id="publish", run_id="any")
        ),
        "task_instances": _outcome(lambda: RuntimeTaskInstance.get_task_states(dag_id=names["dag"], run_ids=["any"])),
    }
    if write:
        overwrite = f"overwritten by {team}'s reader"
        outcomes["variable_write"] = _outcome(lambda: Variable.set(names["variable"], overwrite))
    return outcomes


def record_channel_probe(name: str, outcomes: dict[str, dict[str, str]]) -> None:
    """Keep what a channel served where the test reads it: ``$AIRFLOW_HOME/channel-probe/<name>.json``."""
    import json
    import os
    from pathlib import Path

    folder = Path(os.environ["AIRFLOW_HOME"]) / "channel-probe"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(outcomes))


class ChannelProbeTrigger(BaseTrigger):
    """Reaches a team's resources from the triggerer; its kwargs name only the team."""

    def __init__(self, team: str) -> None:
        super().__init__()
        self.team = team

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("team_a_triggers.ChannelProbeTrigger", {"team": self.team})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        yield TriggerEvent(channel_probe(self.team, write=self.team == "team_b"))


async def escape(**kwargs: Any) -> str:
    """What a callable named to Airflow's CallbackTrigger runs in the triggerer: anything at all."""
    record_channel_probe("callback_trigger", {"ran": {"in": "the triggerer"}})
    # Fired at once, the trigger can resume the task before the scheduler has handled the executor's report of
    # the deferral; Airflow 3.3 then fails the task instance ("finished with state success, but the task
    # instance's state attribute is queued"). A few seconds keep that race out of the attack's outcome.
    await asyncio.sleep(5)
    return "ran"
