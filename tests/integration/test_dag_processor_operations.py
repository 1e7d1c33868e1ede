"""Operations under the real ``airflow dag-processor`` (a forked child per file): metrics reach the statsd
Airflow is configured with, and the circuit breaker's state survives the forks when OPA hangs."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec
from tests.conftest import EXAMPLE_DAGS

HANGING_FILES = 6


def _sandbox(home: Path, opa_url: str, files: int) -> AirflowSandbox:
    bundle = home / "bundle"
    bundle.mkdir(parents=True)
    source = (EXAMPLE_DAGS / "team_a" / "etl.py").read_text()
    for n in range(files):
        (bundle / f"etl_{n}.py").write_text(source.replace('"team_a__etl"', f'"team_a__etl_{n}"'))
    shutil.copy(EXAMPLE_DAGS / "team_a" / "borrow_connection.py", bundle)
    sandbox = AirflowSandbox(
        home=home / "airflow", bundles=[BundleSpec("team_a_dags", bundle, "team_a")], opa_url=opa_url
    )
    sandbox.extra_env["AIRFLOW__AIRFLOW_POLICIES__DECISION_LOG"] = str(home / "decisions.jsonl")
    return sandbox


def test_metrics_reach_airflows_statsd(opa_url: str, tmp_path: Path):
    """With [metrics] statsd_on, every decision, finding and mutation is sent to Airflow's statsd."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(0.2)
        sandbox = _sandbox(tmp_path, opa_url, files=2)
        sandbox.extra_env.update(
            {
                "AIRFLOW__METRICS__STATSD_ON": "True",
                "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
                "AIRFLOW__METRICS__STATSD_PORT": str(receiver.getsockname()[1]),
                "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
            }
        )
        sandbox.initialise()
        sandbox.airflow("dag-processor", "--num-runs", "1", timeout=240)
        received = []
        while True:
            try:
                received.append(receiver.recv(65536).decode())
            except TimeoutError:
                break
    metrics = {line.split(":")[0] for packet in received for line in packet.splitlines()}
    ours = {m for m in metrics if m.startswith("airflow.airflow_policies.")}
    assert {
        "airflow.airflow_policies.decisions",
        "airflow.airflow_policies.decisions.mutated",
        "airflow.airflow_policies.decisions.rejected",
        "airflow.airflow_policies.findings.deny.connections.foreign_connection",
        "airflow.airflow_policies.mutations",
        "airflow.airflow_policies.breaker_open",
        "airflow.airflow_policies.latency",
    } <= ours, sorted(ours)


def test_hanging_opa_costs_one_timeout_in_the_dag_processor(tmp_path: Path):
    """OPA accepts connections and never answers: the manager (which decides for the DAG processor; its parse
    children decide nothing) waits one read timeout, on its revision probe or its first decision, and opens the
    breaker; every later decision reads the breaker's state and fails fast without a request."""
    with socket.socket() as hanging:
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(64)
        sandbox = _sandbox(tmp_path, f"http://127.0.0.1:{hanging.getsockname()[1]}", files=HANGING_FILES)
        sandbox.extra_env["AIRFLOW__AIRFLOW_POLICIES__READ_TIMEOUT_SECONDS"] = "1"
        sandbox.extra_env["AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES"] = "1"
        sandbox.initialise()
        sandbox.airflow("dag-processor", "--num-runs", "1", timeout=240)
    records = [json.loads(line) for line in (tmp_path / "decisions.jsonl").read_text().splitlines()]
    assert len(records) == HANGING_FILES + 1
    assert {(r["enforcement_point"], r["outcome"]) for r in records} == {("dag_processor_manager", "failed_closed")}
    timed_out = [r for r in records if "circuit breaker open" not in r["error"]]
    assert len(timed_out) <= 1 and all("(read timeout)" in r["error"] for r in timed_out)
    assert len(sandbox.state()["import_errors"]) == HANGING_FILES + 1
