"""The Execution API guard: guarded calls per second and added latency per call, against the same API without it.

Three real ``airflow api-server`` processes (one uvicorn worker each) share one metadata DB (SQLite) and one
local OPA: one with the guard off (``disabled_points: [execution_api]``), one with it on (every call after the
first is a cache hit), and one with it on and ``decision_cache_seconds: 0`` (every call is a full miss: the
task instance read from the DB, its DAG version deserialized, its document built and decided by OPA). Eight
client processes call ``GET /execution/connections/team_a_postgres`` with a real task instance's token, as a
running task reads its connection, for ``--seconds`` per server, in alternating rounds of one run; every call
must answer 200. Reported: calls per second, p50/p99 latency per call, and the ratios guarded / unguarded.

Under eight clients on a small machine the server is saturated and latency is mostly queueing, so the
guard's own cost per call is also timed in one process of the same deployment (``guard_cost``): the
middleware around a no-op app on a cache hit, and ``judge_call`` with its caches emptied (a full miss: DB,
deserialization, document, OPA) or with only the verdict cache emptied (a new call of a known task).

Run: .venv/bin/python benchmarks/execution_api_guard.py [--workers 8] [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec

_DAG = """
import pendulum
from airflow.sdk import DAG, Connection, task

with DAG("team_a__reader", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task
    def read():
        return Connection.get("team_a_postgres").host

    read()
"""

_TOKEN = """
import json
from airflow.api_fastapi.execution_api.app import _jwt_generator
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session
from sqlalchemy import select

with create_session() as session:
    ti_id = session.scalar(select(TaskInstance.id).where(TaskInstance.dag_id == "team_a__reader"))
print(json.dumps({"ti_id": str(ti_id), "token": _jwt_generator().generate(extras={"sub": str(ti_id)})}))
"""

_GUARD_COST = """
import asyncio, json, statistics, time, uuid
from airflow_policies.enforcement import execution_api
from airflow_policies.enforcement.execution_api import DOCUMENTS, IDENTITIES, VERDICTS, ExecutionApiGuard, judge_call
from airflow_policies.enforcement.execution_routes import match_route
from airflow_policies.enforcement.runtime_calls import call_of

TI, TOKEN, PATH = uuid.UUID({ti_id!r}), {token!r}, {path!r}

async def noop(scope, receive, send):
    pass

async def receive():
    return {{"type": "http.request"}}

guard = ExecutionApiGuard(noop)
scope = {{"type": "http", "method": "GET", "path": PATH, "query_string": b"",
          "headers": [(b"authorization", f"Bearer {{TOKEN}}".encode())]}}
call = call_of(match_route("GET", PATH.removeprefix("/execution")), [], None)

def timed(run, repeat):
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)

def full_miss():
    for cache in (IDENTITIES, DOCUMENTS, VERDICTS):
        cache.clear()
    assert judge_call(TI, call).allowed

def verdict_miss():
    VERDICTS.clear()
    assert judge_call(TI, call).allowed

full_miss()
loop = asyncio.new_event_loop()
hit_ms = timed(lambda: loop.run_until_complete(guard(scope, receive, noop)), 5000)
noop_ms = timed(lambda: loop.run_until_complete(noop(scope, receive, noop)), 5000)
print(json.dumps({{
    "hit_us": round((hit_ms - noop_ms) * 1000, 1),
    "verdict_miss_ms": round(timed(verdict_miss, 50), 2),
    "full_miss_ms": round(timed(full_miss, 50), 2),
}}))
"""

#: server name -> its airflow-policies settings
SERVERS = {
    "unguarded": {"AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS": '["execution_api"]'},
    "guarded_hit": {},
    "guarded_miss": {"AIRFLOW__AIRFLOW_POLICIES__DECISION_CACHE_SECONDS": "0"},
}
PATH = "/execution/connections/team_a_postgres"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


def _client(port: int, token: str, seconds: float, results: multiprocessing.Queue) -> None:
    import httpx

    latencies: list[float] = []
    errors: dict[str, int] = {}
    headers = {"authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                status = str(client.get(PATH).status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            if status == "200":
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                errors[status] = errors.get(status, 0) + 1
    results.put((latencies, errors))


def _measure(port: int, token: str, workers: int, seconds: float) -> dict[str, object]:
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue = context.Queue()
    clients = [context.Process(target=_client, args=(port, token, seconds, queue)) for _ in range(workers)]
    for client in clients:
        client.start()
    collected = [queue.get() for _ in clients]
    for client in clients:
        client.join()
    latencies = [value for values, _ in collected for value in values]
    errors: dict[str, int] = {}
    for _, seen in collected:
        for status, count in seen.items():
            errors[status] = errors.get(status, 0) + count
    return {
        "calls_per_second": len(latencies) / seconds,
        "p50_ms": _percentile(latencies, 0.5),
        "p99_ms": _percentile(latencies, 0.99),
        "calls": len(latencies),
        "errors": errors,
    }


def _deployment(home: Path, opa_url: str) -> tuple[AirflowSandbox, str, str]:
    bundle = home / "team_a"
    bundle.mkdir(parents=True)
    (bundle / "reader.py").write_text(textwrap.dedent(_DAG))
    sandbox = AirflowSandbox(
        home=home / "airflow",
        bundles=[BundleSpec("team_a_dags", bundle, "team_a")],
        opa_url=opa_url,
        extra_env={
            "AIRFLOW__EXECUTION_API__JWT_EXPIRATION_TIME": "7200",
            "AIRFLOW__AIRFLOW_POLICIES__DECISION_LOG": "none",
        },
    )
    sandbox.initialise()
    sandbox.airflow("connections", "add", "team_a_postgres", "--conn-uri", "postgres://team-a-host/db")
    sandbox.airflow("dag-processor", "--num-runs", "1", timeout=300)
    sandbox.airflow("dags", "trigger", "team_a__reader")
    identity = json.loads(sandbox.python(_TOKEN).strip().splitlines()[-1])
    return sandbox, identity["ti_id"], identity["token"]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from airflow_policies._paths import example_registry
    from airflow_policies.local.net import accepts, free_loopback_port
    from airflow_policies.local.opa_server import local_opa

    airflow_cli = str(Path(sys.executable).with_name("airflow"))
    with (
        tempfile.TemporaryDirectory(prefix="airflow-policies-guard-bench-") as tmp,
        local_opa(example_registry()) as url,
    ):
        sandbox, ti_id, token = _deployment(Path(tmp), url)
        cost = sandbox.python(_GUARD_COST.format(ti_id=ti_id, token=token, path=PATH))
        guard_cost = json.loads(cost.strip().splitlines()[-1])
        print("guard_cost", json.dumps(guard_cost), file=sys.stderr, flush=True)
        ports = {name: free_loopback_port() for name in SERVERS}
        processes = []
        try:
            for name, overrides in SERVERS.items():
                with (Path(tmp) / f"{name}.log").open("w") as log:
                    processes.append(
                        subprocess.Popen(
                            [airflow_cli, "api-server", "-H", "127.0.0.1", "-p", str(ports[name])],
                            env={**sandbox.env, **overrides},
                            stdout=log,
                            stderr=subprocess.STDOUT,
                        )
                    )
            deadline = time.monotonic() + 180
            while not all(accepts(port) for port in ports.values()):
                if time.monotonic() > deadline:
                    raise TimeoutError("the API servers did not start")
                time.sleep(0.5)
            for port in ports.values():  # warm each server (imports, first decision) outside the measurement
                _measure(port, token, 1, 2.0)
            rounds: dict[str, list[dict[str, object]]] = {name: [] for name in SERVERS}
            for _ in range(args.rounds):
                for name, port in ports.items():
                    rounds[name].append(_measure(port, token, args.workers, args.seconds))
                    print(name, json.dumps(rounds[name][-1]), file=sys.stderr, flush=True)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)

    def median(name: str, key: str) -> float:
        return statistics.median(float(r[key]) for r in rounds[name])  # type: ignore[arg-type]

    throughput = median("unguarded", "calls_per_second")
    report: dict[str, object] = {
        "workers": args.workers,
        "seconds_per_round": args.seconds,
        "rounds": args.rounds,
        "errors": {name: [r["errors"] for r in results] for name, results in rounds.items()},
        "guard_cost": guard_cost,
        **{
            name: {key: round(median(name, key), 2) for key in ("calls_per_second", "p50_ms", "p99_ms")}
            for name in SERVERS
        },
        **{
            f"ratio_calls_per_second_{mode}": round(median(f"guarded_{mode}", "calls_per_second") / throughput, 3)
            for mode in ("hit", "miss")
        },
        **{
            f"added_p50_ms_{mode}": round(median(f"guarded_{mode}", "p50_ms") - median("unguarded", "p50_ms"), 2)
            for mode in ("hit", "miss")
        },
    }  # fmt: skip
    print(json.dumps(report, indent=2))
    return 0 if not any(any(r) for r in report["errors"].values()) else 1  # type: ignore[union-attr]


if __name__ == "__main__":
    sys.exit(main())
