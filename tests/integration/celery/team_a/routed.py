"""Team A's work, left on Airflow's default queue: the policy routes it to team A's queue, where only team A's
worker listens. Each task reports what the worker's process holds of the deployment's keys."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task


@task
def inventory() -> dict[str, object]:
    """The keys this worker's configuration and environment hold (their digests), and the bundles it has."""
    import hashlib
    import os

    from airflow.configuration import conf

    def digest(value: str | None) -> str | None:
        return hashlib.sha256(value.encode()).hexdigest() if value else None

    return {
        "jwt_secret": digest(conf.get("api_auth", "jwt_secret", fallback="")),
        "fernet_key": digest(conf.get("core", "fernet_key", fallback="")),
        "sql_alchemy_conn": digest(os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")),
        "bundles": sorted(b["name"] for b in conf.getjson("dag_processor", "dag_bundle_config_list")),
    }


with DAG("team_a__routed", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    inventory.override(task_id="first")() >> inventory.override(task_id="second")()
