"""Team A overwrites team B's Variable (Airflow upserts by key, whatever team owns it) and deletes a global one."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Variable, task

with DAG("team_a__variable_write", schedule="@once", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task
    def attack_overwrite() -> None:
        Variable.set("team_b_api_" + "base", "hijacked by team a")

    @task
    def attack_delete_global() -> None:
        Variable.delete("environment_" + "name")

    @task
    def control() -> None:
        Variable.set("team_a_threshold", "6")

    attack_overwrite()
    attack_delete_global()
    control()
