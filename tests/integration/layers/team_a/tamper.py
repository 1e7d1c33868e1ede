"""Team A's DAG file, written to escape its team: it switches the parse-time policy off, then names team B's
connection and queue. The server-side enforcement points must stop it without any help from this process."""

from __future__ import annotations

import pendulum
from airflow import settings
from airflow.policies import DefaultPolicy
from airflow.sdk import DAG, task

settings.dag_policy = lambda dag: None
settings.task_policy = lambda task: None
_policy_plugins = settings.get_policy_plugin_manager()
for _name, _plugin in list(_policy_plugins.list_name_plugin()):
    if _plugin is not DefaultPolicy:
        _policy_plugins.unregister(name=_name)

with DAG("team_a__tamper", schedule="@once", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task(queue="team_b", templates_dict={"host": "{{ conn.team_b_warehouse.host }}"})
    def read_team_b_warehouse(templates_dict: dict | None = None) -> str:
        return templates_dict["host"]

    read_team_b_warehouse()
