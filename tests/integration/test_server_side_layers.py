"""The scheduler re-check and the Execution API read guard, each on its own, in a running deployment: the
real API server on loopback and the real scheduler with LocalExecutor, SQLite metadata DB, real OPA.

Team A's bundle holds a compliant DAG and a DAG file that switches the parse-time policy off and then uses
team B's queue and (at run time) team B's connection. Both connections exist in Airflow without a team,
so Airflow alone hands either to any task: the control scenario shows the attack working with every
server-side layer off. Both DAGs are `@once`, so the scheduler itself creates their runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec

LAYERS = Path(__file__).resolve().parent / "layers"
REFUSED_URL = "http://127.0.0.1:9"
TERMINAL = {"success", "failed", "upstream_failed"}
MANAGER_OFF = ["dag_processor_manager"]


def _sandbox(home: Path, opa_url: str) -> AirflowSandbox:
    return AirflowSandbox(home=home, bundles=[BundleSpec("team_a_dags", LAYERS / "team_a", "team_a")], opa_url=opa_url)


@pytest.fixture(scope="module")
def template_db(opa_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A metadata DB with the teams, pools, connections and variable, and both DAGs parsed (the manager's
    re-check off, so the tamper DAG got in)."""
    sandbox = _sandbox(tmp_path_factory.mktemp("template"), opa_url)
    sandbox.extra_env["AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS"] = json.dumps(MANAGER_OFF)
    sandbox.initialise()
    sandbox.airflow("pools", "set", "team_a_pool", "4", "team A", "--team-name", "team_a")
    sandbox.airflow("pools", "set", "airflow_policies_quarantine", "0", "task instances airflow-policies rejects")
    sandbox.airflow("connections", "add", "team_a_postgres", "--conn-uri", "postgres://team-a-host/db")
    sandbox.airflow("connections", "add", "team_b_warehouse", "--conn-uri", "postgres://team-b-host/db")
    sandbox.airflow("variables", "set", "team_a_threshold", "5")
    sandbox.airflow("dag-processor", "--num-runs", "1", timeout=240)
    assert set(sandbox.state()["dags"]) == {"team_a__tamper", "team_a__allowed"}
    return sandbox.home / "airflow.db"


def _tis(state: dict) -> dict[str, dict]:
    return {ti["dag_id"]: ti for ti in state["task_instances"]}


def _settled(state: dict) -> bool:
    """Both task instances exist and the compliant one has finished (the other ran beside it, or never will)."""
    tis = _tis(state)
    return len(tis) == 2 and tis["team_a__allowed"]["state"] in TERMINAL


def _finished(state: dict) -> bool:
    tis = _tis(state)
    return len(tis) == 2 and all(ti["state"] in TERMINAL for ti in tis.values())


def _quarantined(state: dict) -> bool:
    tis = _tis(state)
    return len(tis) == 2 and all(ti["pool"] == "airflow_policies_quarantine" for ti in tis.values())


def _run(template_db: Path, home: Path, opa_url: str, disabled: list[str], until=_settled, url: str | None = None):
    sandbox = _sandbox(home, opa_url)
    for part in template_db.parent.glob("airflow.db*"):  # with SQLite's write-ahead log, if any
        shutil.copy(part, home / part.name)
    env = {"AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS": json.dumps(disabled)}
    if url is not None:
        env["AIRFLOW__AIRFLOW_POLICIES__OPA_URL"] = url
    with sandbox.serve(env=env):
        state = sandbox.wait_for(until)
    return sandbox, state


def _task_log(sandbox: AirflowSandbox, dag_id: str) -> str:
    (log,) = (sandbox.home / "logs").glob(f"dag_id={dag_id}/*/*/attempt=1.log")
    return log.read_text()


def test_control_without_server_side_layers_the_tamper_dag_reads_team_b(template_db, opa_url, tmp_path):
    """With the manager, scheduler and Execution API checks all off, team A's tamper task runs and reads
    team B's connection: parse-time checks alone do not hold."""
    _, state = _run(template_db, tmp_path, opa_url, [*MANAGER_OFF, "scheduler", "execution_api"], until=_finished)
    assert {dag_id: ti["state"] for dag_id, ti in _tis(state).items()} == {
        "team_a__tamper": "success",
        "team_a__allowed": "success",
    }


def test_scheduler_layer_alone_quarantines_the_tamper_task(template_db, opa_url, tmp_path):
    """The scheduler's own hook rejects the tamper DAG: its task instance sits in the 0-slot quarantine pool
    and never starts, while the compliant DAG runs routed to its team's pool and queue."""
    sandbox, state = _run(template_db, tmp_path, opa_url, [*MANAGER_OFF, "execution_api"])
    tamper, allowed = _tis(state)["team_a__tamper"], _tis(state)["team_a__allowed"]
    assert (tamper["pool"], tamper["started"]) == ("airflow_policies_quarantine", False)
    assert tamper["state"] in (None, "scheduled")
    assert (allowed["state"], allowed["pool"], allowed["queue"]) == ("success", "team_a_pool", "team_a")
    (rejected,) = [r for r in sandbox.decisions("scheduler") if r["dag_id"] == "team_a__tamper"]
    assert (rejected["enforcement_point"], rejected["outcome"], rejected["team"]) == ("scheduler", "rejected", "team_a")
    assert {"queues.foreign_queue", "connections.foreign_connection"} <= {v["rule"] for v in rejected["violations"]}


def test_runtime_layer_alone_refuses_the_read_and_allows_the_compliant_one(template_db, opa_url, tmp_path):
    """With only the Execution API guard on, the tamper task runs, its read of team B's connection is refused
    (403), and the task fails; the compliant task's reads of its own connection and variable succeed."""
    sandbox, state = _run(template_db, tmp_path, opa_url, [*MANAGER_OFF, "scheduler"], until=_finished)
    assert _tis(state)["team_a__tamper"]["state"] == "failed"
    assert "Access denied for connection 'team_b_warehouse' by Execution API" in _task_log(sandbox, "team_a__tamper")
    assert _tis(state)["team_a__allowed"]["state"] == "success"
    records = sandbox.decisions("api-server")
    refused = [r for r in records if r["dag_id"] == "team_a__tamper" and r["outcome"] == "rejected"]
    assert refused and refused[0]["enforcement_point"] == "execution_api"
    runtime = [v for v in refused[0]["violations"] if v["details"].get("source") == "runtime"]
    assert [(v["rule"], v["task_id"], v["details"]["conn_id"]) for v in runtime] == [
        ("connections.foreign_connection", "read_team_b_warehouse", "team_b_warehouse")
    ]
    allowed = {r["outcome"] for r in records if r["dag_id"] == "team_a__allowed"}
    assert allowed == {"admitted"}


def test_opa_down_the_scheduler_quarantines_everything(template_db, tmp_path, opa_url):
    """Fail closed in the scheduler: with OPA unreachable, no task instance of any DAG can start."""
    sandbox, state = _run(
        template_db, tmp_path, opa_url, [*MANAGER_OFF, "execution_api"], until=_quarantined, url=REFUSED_URL
    )
    assert not any(ti["started"] for ti in state["task_instances"])
    assert {r["outcome"] for r in sandbox.decisions("scheduler")} == {"failed_closed"}


def test_opa_down_the_execution_api_refuses_reads(template_db, tmp_path, opa_url):
    """Fail closed at run time: with OPA unreachable, even the compliant task's read is refused. (The worker's
    re-parse, which would fail closed first, is switched off to reach the read.)"""
    sandbox, state = _run(template_db, tmp_path, opa_url, [*MANAGER_OFF, "scheduler", "worker"], url=REFUSED_URL)
    assert _tis(state)["team_a__allowed"]["state"] == "failed"
    assert "Access denied for connection 'team_a_postgres' by Execution API" in _task_log(sandbox, "team_a__allowed")
    assert {r["outcome"] for r in sandbox.decisions("api-server")} == {"failed_closed"}
