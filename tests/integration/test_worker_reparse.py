"""The worker path: at every task start the task runner re-parses the DAG file
(``task_runner.parse`` -> ``BundleDagBag`` inside the parsing context), and with the ``worker`` point switched
on (it is off by default) the policy runs again there."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_policies.local.opa_server import local_opa
from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec
from airflow_policies.local.testing import WORKER_STARTUP
from tests.conftest import EXAMPLE_DAGS, EXAMPLE_REGISTRY, EXAMPLE_ROLLOUT


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AirflowSandbox, Path]]:
    """A sandbox whose OPA keeps its decision log, so the test can see what each decision was about."""
    home = tmp_path_factory.mktemp("worker")
    decision_log = home / "opa.log"
    with local_opa(EXAMPLE_REGISTRY, rollout=EXAMPLE_ROLLOUT, decision_log=decision_log) as url:
        sandbox = AirflowSandbox(
            home=home / "airflow",
            bundles=[BundleSpec("team_a_dags", EXAMPLE_DAGS / "team_a", "team_a")],
            opa_url=url,
            extra_env={WORKER_POINT: "[]"},
        )
        sandbox.initialise()
        yield sandbox, decision_log


def _start_task(
    sandbox: AirflowSandbox, dag_id: str, task_id: str, path: str, env: dict[str, str] | None = None
) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", WORKER_STARTUP, dag_id, task_id, "team_a_dags", path],
        env=sandbox.env | (env or {}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


WORKER_POINT = "AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS"


def _decisions(log: Path, dag_id: str) -> list[dict]:
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [
        e["input"]
        for e in entries
        if e.get("msg") == "Decision Log" and e.get("input", {}).get("dag", {}).get("dag_id") == dag_id
    ]


def test_worker_runs_the_routed_task(worker):
    """The task a worker runs comes from its own re-parse, routed to the team's queue and pool: the team
    was resolved from the worker's BundleDagBag, and the decision was made as enforcement point 'worker'."""
    sandbox, log = worker
    assert _start_task(sandbox, "team_a__etl", "load", "etl.py") == {"queue": "team_a", "pool": "team_a_pool"}
    (document,) = [d for d in _decisions(log, "team_a__etl") if d["enforcement_point"] == "worker"]
    assert document["bundle"] == {"name": "team_a_dags", "team": "team_a"}


def test_by_default_the_worker_decides_nothing(worker, tmp_path):
    """With disabled_points unset, the re-parse at task start makes no decision: the violating DAG starts
    unrouted there (the scheduler re-check and the Execution API guard decide it where no DAG code runs)."""
    sandbox, _ = worker
    log = tmp_path / "decisions.jsonl"
    defaults = {name: value for name, value in sandbox.env.items() if name != WORKER_POINT}
    command = [sys.executable, "-c", WORKER_STARTUP, "team_a__borrow_connection", "query_warehouse", "team_a_dags",
               "borrow_connection.py"]  # fmt: skip
    defaults["AIRFLOW__AIRFLOW_POLICIES__DECISION_LOG"] = str(log)
    result = subprocess.run(command, env=defaults, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"queue": "default", "pool": "default_pool"}
    assert not log.exists() or log.read_text() == ""


def test_worker_refuses_to_start_a_violating_task(worker):
    """A DAG that breaks team boundaries is missing from the worker's bag: the task does not start."""
    sandbox, _ = worker
    assert _start_task(sandbox, "team_a__borrow_connection", "query_warehouse", "borrow_connection.py") == {"exit": 1}


def test_dag_processor_decisions_are_marked_as_such(worker):
    """The real DAG processor decides in its manager, at enforcement point 'dag_processor_manager', once per DAG;
    its parse child (where DAG code ran) makes no decision."""
    sandbox, log = worker
    sandbox.airflow("dag-processor", "--num-runs", "1", timeout=240)
    points = [document["enforcement_point"] for document in _decisions(log, "team_a__etl")]
    assert [p for p in points if p.startswith("dag_processor")] == ["dag_processor_manager"]


def test_worker_starts_a_task_under_an_exception(worker, tmp_path):
    """EXC-101 excuses team A's legacy export at the worker too: the task starts on team B's pool, and the
    worker's decision-log line names the exception."""
    sandbox, _ = worker
    log = tmp_path / "decisions.jsonl"
    started = _start_task(
        sandbox,
        "team_a__legacy_export",
        "export",
        "legacy_export.py",
        {"AIRFLOW__AIRFLOW_POLICIES__DECISION_LOG": str(log)},
    )
    assert started == {"queue": "team_a", "pool": "team_b_pool"}
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert (record["enforcement_point"], record["exceptions_applied"]) == ("worker", ["EXC-101"])


@pytest.mark.parametrize(
    ("mode", "expected"), [("closed", {"exit": 1}), ("open", {"queue": "default", "pool": "default_pool"})]
)
def test_worker_with_opa_unreachable_follows_its_failure_mode(worker, tmp_path, mode, expected):
    """OPA unreachable at task start: fail closed (default) fails the task; fail open runs it unrouted. Either
    way the worker logs the decision with the reason."""
    sandbox, _ = worker
    log = tmp_path / "decisions.jsonl"
    env = {
        "AIRFLOW__AIRFLOW_POLICIES__OPA_URL": "http://127.0.0.1:9",
        "AIRFLOW__AIRFLOW_POLICIES__FAILURE_MODE": json.dumps({"worker": mode}),
        "AIRFLOW__AIRFLOW_POLICIES__STATE_DIR": str(tmp_path / "state"),
        "AIRFLOW__AIRFLOW_POLICIES__DECISION_LOG": str(log),
    }
    assert _start_task(sandbox, "team_a__etl", "load", "etl.py", env) == expected
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["outcome"] == f"failed_{mode}" and "http://127.0.0.1:9" in record["error"]
