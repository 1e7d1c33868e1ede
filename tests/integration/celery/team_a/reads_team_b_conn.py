"""A team A task on team A's Celery worker reading team B's connection, the name computed at run time so parse
time sees nothing: the Execution API guard refuses it, as it does for a LocalExecutor task."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task


@task
def attack() -> str:
    from airflow.sdk import BaseHook

    return BaseHook.get_connection("_".join(["team", "b", "warehouse"])).host


@task
def control() -> str:
    from airflow.sdk import BaseHook

    return BaseHook.get_connection("_".join(["team", "a", "postgres"])).host


with DAG("team_a__reads_team_b_conn", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    attack()
    control()
