"""Task throughput and task-start latency on the per-team CeleryExecutor deployment, policy on vs off.

One deployment (PostgreSQL, a Redis broker per team, OPA, API server, scheduler, team A's Celery worker with
concurrency 2), the 24-task ``team_a__bench`` DAG parsed once with the policy (so its tasks are on team A's
queue in every configuration). Then, in alternating rounds, the API server, scheduler and worker are
restarted in each configuration and one run of the DAG is timed from the database:

- ``off``: every enforcement point disabled (Airflow alone);
- ``on``: every point on (the scheduler re-check, the Execution API guard, the worker's re-parse decision);
- ``on, no worker point``: every point but ``worker``.

Per configuration and round: throughput (tasks per second of the 24-task run, from its first task queued to its
last finished; the worker runs two at a time) and task-start latency of the one task of ``team_a__bench_one``,
run three times one after the other (so it never waits for a worker slot): from the scheduler queueing it
to its command running (the time the command prints), so it holds Celery's delivery, the worker's supervisor,
``/run``, the task runner's re-parse of the DAG file (and the ``worker`` point's decision) and the operator.
Medians over the rounds; ratios against ``off``.

Run: .venv/bin/python benchmarks/celery_throughput.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from contextlib import ExitStack
from pathlib import Path

import yaml

from airflow_policies._paths import example_registry
from airflow_policies.document.models import EnforcementPoint
from airflow_policies.local.opa_server import local_opa
from airflow_policies.local.postgres_server import local_postgres
from airflow_policies.local.redis_server import local_redis
from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec

DAGS = Path(__file__).resolve().parent / "celery_dags"
ALL_POINTS: tuple[EnforcementPoint, ...] = EnforcementPoint.__args__  # type: ignore[attr-defined]
CONFIGURATIONS: dict[str, list[str]] = {
    "off": list(ALL_POINTS),
    "on": [],
    "on, no worker point": ["worker"],
}

_TIMES = """
import json
from airflow.models.taskinstance import TaskInstance
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from sqlalchemy import select
with create_session() as session:
    tis = session.scalars(select(TaskInstance).where(TaskInstance.run_id == {run_id!r}))
    rows = session.execute(
        select(XComModel.task_id, XComModel.value)
        .where(XComModel.run_id == {run_id!r}, XComModel.key == "return_value")
    )
    printed = {{task_id: float(str(value).strip('"')) for task_id, value in rows if str(value).strip('"')}}
    print(json.dumps([
        [ti.state, ti.queued_dttm.timestamp(), printed.get(ti.task_id), ti.end_date.timestamp()] for ti in tis
    ]))
"""


def _run(sandbox: AirflowSandbox, dag_id: str, run_id: str) -> list[list[float]]:
    """Trigger one run and wait for it: [state, queued, command ran (if it printed), ended] per task instance."""
    sandbox.airflow("dags", "trigger", dag_id, "--run-id", run_id)
    sandbox.wait_for(
        lambda state: (
            (tis := [ti for ti in state["task_instances"] if ti["run_id"] == run_id]) != []
            and all(ti["state"] in ("success", "failed") for ti in tis)
        ),
        timeout=600,
    )
    rows = json.loads(sandbox.python(_TIMES.format(run_id=run_id)).splitlines()[-1])
    if any(state != "success" for state, *_ in rows):
        raise RuntimeError(f"task instances of {run_id} failed: {rows}")
    return [times for _, *times in rows]


def _measure(sandbox: AirflowSandbox, name: str) -> dict[str, float]:
    rows = _run(sandbox, "team_a__bench", f"{name}_throughput")
    starts = [
        started - queued
        for index in range(3)
        for queued, started, _ in _run(sandbox, "team_a__bench_one", f"{name}_{index}")
    ]
    return {
        "throughput": len(rows) / (max(ended for *_, ended in rows) - min(queued for queued, *_ in rows)),
        "start": statistics.median(starts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    registry = yaml.safe_load(example_registry().read_text())
    for team in registry["teams"].values():
        team["executors"] = ["CeleryExecutor"]
    results: dict[str, list[dict[str, float]]] = {name: [] for name in CONFIGURATIONS}
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="airflow-policies-celery-bench-")))
        (work / "registry.yaml").write_text(yaml.safe_dump(registry))
        sandbox = AirflowSandbox(
            home=work / "airflow",
            bundles=[BundleSpec("team_a_dags", DAGS, "team_a")],
            opa_url=stack.enter_context(local_opa(work / "registry.yaml")),
            database_url=stack.enter_context(local_postgres()),
            celery_brokers={team: stack.enter_context(local_redis()) for team in ("", "team_a")},
            extra_env={"AIRFLOW__AIRFLOW_POLICIES__DECISION_LOG": "none"},
        )
        sandbox.initialise()
        sandbox.airflow("pools", "set", "team_a_pool", "64", "team A", "--team-name", "team_a")
        sandbox.airflow("pools", "set", "airflow_policies_quarantine", "0", "rejected")
        sandbox.airflow("dag-processor", "--num-runs", "1", timeout=300)
        for round_index in range(args.rounds):
            for name, disabled in CONFIGURATIONS.items():
                env = {"AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS": json.dumps(disabled)}
                with sandbox.serve(env=env, workers={"team_a": ["team_a"]}):
                    results[name].append(_measure(sandbox, f"{name.replace(' ', '_').replace(',', '')}_{round_index}"))
                print(f"round {round_index + 1}, {name}: {results[name][-1]}", flush=True)
    _report(results)


def _report(results: dict[str, list[dict[str, float]]]) -> None:
    print("\n| configuration | tasks/s (24 tasks) | slowdown (off / this) | task start, s | ratio (this / off) |")
    print("|---|---|---|---|---|")
    baseline = {key: statistics.median(r[key] for r in results["off"]) for key in results["off"][0]}
    for name, runs in results.items():
        value = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        throughput_ratio = baseline["throughput"] / value["throughput"]
        start_ratio = value["start"] / baseline["start"]
        throughput = f"{value['throughput']:.2f} | {throughput_ratio:.3f}"
        print(f"| {name} | {throughput} | {value['start']:.3f} | {start_ratio:.3f} |")


if __name__ == "__main__":
    main()
