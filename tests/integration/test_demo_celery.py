"""`airflow-policies demo --executor celery` as a user runs it: the admitted DAGs run on the per-team Celery
deployment (PostgreSQL, a Redis broker and a worker per team, each worker as its own Unix user), the table says
where each task ran, and doctor passes each worker."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.skipif(os.geteuid() != 0, reason="the demo isolates each worker as its own Unix user only as root")
def test_the_celery_demo_runs_each_teams_tasks_on_its_worker_and_doctor_passes_them(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_POLICIES_"))}
    result = subprocess.run(
        [sys.executable, "-m", "airflow_policies.cli", "demo", "--executor", "celery", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=900, env=environment,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = {
        tuple(line.split()[:2]): line.split()
        for line in result.stdout.splitlines()
        if line.startswith(("team_a__", "team_b__")) and len(line.split()) >= 6
    }
    # DAG, TASK, STATE, QUEUE, WORKER THAT RAN IT, POOL
    assert rows["team_b__publish", "publish_prices"][2:5] == ["success", "team_b", "team_b-worker"]
    assert rows["team_a__legacy_export", "export"][2:5] == ["success", "team_a", "team_a-worker"]
    assert rows["team_b__borrow_gpu", "train"][2:5] == ["queued", "team_a_gpu", "(not"]
    for team in ("team_a", "team_b"):
        assert f"airflow-policies doctor on {team}'s worker, as its own Unix user: nothing found (exit 0)" in (
            result.stdout
        )
