"""A task cannot switch the boundary off for others: one call it inflated until OPA times out on it is refused
alone, even with failure_mode execution_api: open, and the breaker every process of the host shares stays shut,
so the next calls are decided as usual. Real API server, scheduler (LocalExecutor), OPA behind a proxy that makes
OPA slow for large documents only (as a huge document does), SQLite metadata DB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec
from tests.integration.fake_opa import FakeOpa, serving_fake_opa

BUNDLE = Path(__file__).resolve().parent / "breaker" / "team_a"
TASKS = ("inflate", "after", "control")
TERMINAL = {"success", "failed", "upstream_failed", "skipped"}


@pytest.fixture(scope="module")
def slow_for_large(opa_url: str) -> Iterator[FakeOpa]:
    with serving_fake_opa(opa_url) as fake:
        fake.delay, fake.slow_from = 5.0, 60_000  # the inflated document only: every other one is far smaller
        yield fake


@pytest.fixture(scope="module")
def deployment(slow_for_large: FakeOpa, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    sandbox = AirflowSandbox(
        home=tmp_path_factory.mktemp("breaker"),
        bundles=[BundleSpec("team_a_dags", BUNDLE, "team_a")],
        opa_url=slow_for_large.url,
        extra_env={
            "AIRFLOW__AIRFLOW_POLICIES__READ_TIMEOUT_SECONDS": "1",
            "AIRFLOW__AIRFLOW_POLICIES__FAILURE_MODE": json.dumps({"execution_api": "open"}),
        },
    )
    sandbox.initialise()
    sandbox.airflow("pools", "set", "team_a_pool", "3", "team A", "--team-name", "team_a")
    sandbox.airflow("connections", "add", "team_a_postgres", "--conn-uri", "postgres://team-a-host/db")
    sandbox.airflow("connections", "add", "team_b_warehouse", "--conn-uri", "postgres://team-b-host/db")
    sandbox.airflow("dag-processor", "--num-runs", "1", timeout=300)

    def finished(state: dict[str, Any]) -> bool:
        states = {ti["task_id"]: ti["state"] for ti in state["task_instances"]}
        return all(states.get(task_id) in TERMINAL for task_id in TASKS)

    with sandbox.serve():
        state = sandbox.wait_for(finished, timeout=300)
    xcoms = sandbox.python(
        "import json\n"
        "from airflow.models.xcom import XComModel\n"
        "from airflow.utils.session import create_session\n"
        "with create_session() as session:\n"
        "    print(json.dumps({x.task_id: x.value for x in session.query(XComModel)}, default=str))\n"
    )
    return {
        "sandbox": sandbox,
        "states": {ti["task_id"]: ti["state"] for ti in state["task_instances"]},
        "xcoms": json.loads(xcoms.strip().splitlines()[-1]),
        "decisions": sandbox.decisions("api-server"),
    }


def test_the_inflated_call_timed_out_in_opa_and_was_refused_even_failing_open(deployment):
    inflated = [r for r in deployment["decisions"] if r["error"] and "is what is slow" in r["error"]]
    assert inflated and {r["outcome"] for r in inflated} == {"failed_closed"}
    assert deployment["states"]["inflate"] == "failed"
    assert "is what is slow" in _log(deployment["sandbox"], "inflate")


def test_the_breaker_stayed_shut_so_the_next_calls_were_decided(deployment):
    """The read of team B's connection after it was refused by the rule, not admitted unchecked; the control read
    of team A's own connection was served."""
    assert deployment["states"]["after"] == "failed"
    assert "team-b-host" not in json.dumps(deployment["xcoms"])
    assert deployment["states"]["control"] == "success" and deployment["xcoms"]["control"] == "team-a-host"
    outcomes = {r["outcome"] for r in deployment["decisions"]}
    assert "failed_open" not in outcomes and "rejected" in outcomes
    assert not any("circuit breaker open" in (r["error"] or "") for r in deployment["decisions"])


def _log(sandbox: AirflowSandbox, task_id: str) -> str:
    logs = sorted((sandbox.home / "logs").glob(f"dag_id=team_a__inflate/*/task_id={task_id}/attempt=*.log"))
    return "\n".join(path.read_text() for path in logs)
