"""Team A defers to Airflow's stock CallbackTrigger, telling it to import and run a callable: code of the
author's choosing in the triggerer. The trigger class is listed globally; the callable is listed nowhere."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, BaseOperator
from airflow.triggers.callback import CallbackTrigger


class CallbackSensor(BaseOperator):
    def __init__(self, *, path: list[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.path = path

    def execute(self, context) -> None:
        self.defer(trigger=CallbackTrigger(callback_path=".".join(self.path), callback_kwargs={}), method_name="done")

    def done(self, context, event: dict) -> str:
        return str(event)


with DAG("team_a__defer_callback", schedule="@once", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):
    CallbackSensor(task_id="attack", path=["team_a_triggers", "escape"])
