"""Scale of the registry: 200 teams x 50 connections, pools and variables each, served as one OPA bundle.

One run, for 10, 50 and 200 teams (so what grows with what shows): registry size, ``bundle build``
time (real ``opa build``, signed), the OPA replica's resident memory once the bundle is active, and the
decision latency (p50/p99 of 200 decisions) for one 50-task DAG of team 0 that names one of its
connections, one pool and one variable per task.

Run: .venv/bin/python benchmarks/registry_scale.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-policies-bench-"))

from resource_bounds import _rss_mb  # the benchmark folder is not a package

TEAM_COUNTS = (10, 50, 200)
PER_TEAM = 50
DECISIONS = 200


def _registry(teams: int) -> dict:
    def team(index: int) -> dict:
        return {
            "dag_id_prefixes": [f"team_{index}__"],
            "default_queue": f"team_{index}",
            "default_pool": f"team_{index}_pool_0",
            "connections": [f"team_{index}_conn_{n}" for n in range(PER_TEAM)],
            "variables": [f"team_{index}_var_{n}" for n in range(PER_TEAM)],
            "pools": [f"team_{index}_pool_{n}" for n in range(PER_TEAM)],
            "queues": [f"team_{index}"],
            "executors": ["LocalExecutor"],
            "asset_prefixes": [f"s3://team-{index}/"],
        }

    shares = [
        {"owner": f"team_{i}", "with": [f"team_{(i + 1) % teams}"], "connections": [f"team_{i}_conn_0"]}
        for i in range(teams)
    ]
    return {"teamless_bundles": "reject", "global": {}, "teams": {f"team_{i}": team(i) for i in range(teams)},
            "shares": shares}  # fmt: skip


def _document(owner: int):  # noqa: ANN202 - an InputDocument
    import pendulum
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG

    from airflow_policies.document.builder import build_input
    from airflow_policies.document.models import BundleInfo

    with DAG("team_0__bench", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as dag:
        for n in range(50):
            BashOperator(
                task_id=f"t{n}",
                bash_command=f"echo {{{{ conn.team_{owner}_conn_{n % PER_TEAM}.host }}}} "
                f"{{{{ var.value.team_{owner}_var_{n} }}}}",
                queue=f"team_{owner}",
                pool=f"team_{owner}_pool_{n % PER_TEAM}",
            )
    return build_input(dag, bundle=BundleInfo(name="team_0_dags", team="team_0"), enforcement_point="dag_processor")


def _latencies_ms(evaluator, document) -> list[float]:  # noqa: ANN001
    latencies = []
    for _ in range(DECISIONS):
        begun = time.perf_counter()
        evaluator.evaluate(document)
        latencies.append((time.perf_counter() - begun) * 1000)
    return sorted(latencies)


def _wait_ready(evaluator, document) -> None:  # noqa: ANN001
    deadline = time.monotonic() + 60
    while True:
        try:
            evaluator.evaluate(document)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def main() -> int:
    from airflow_policies._config import load_settings
    from airflow_policies._paths import opa_binary
    from airflow_policies.decision.opa_client import OpaEvaluator
    from airflow_policies.local.net import free_loopback_port
    from airflow_policies.policy.bundle import build_bundle

    work = Path(tempfile.mkdtemp(prefix="airflow-policies-scale-"))
    key = work / "key.pem"
    public = work / "key.pub.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-out", str(public)], check=True, capture_output=True)
    print("own: team 0's DAG uses its own resources; foreign: it uses the last team's (200 findings).")
    print(f"{'teams':>5} {'registry':>9} {'build':>7} {'OPA RSS':>8}  {'own p50/p99':>15}  {'foreign p50/p99':>15}")
    for teams in TEAM_COUNTS:
        registry = work / f"registry-{teams}.yaml"
        registry.write_text(yaml.safe_dump(_registry(teams)))
        bundle = work / f"bundle-{teams}.tar.gz"
        started = time.perf_counter()
        build_bundle(registry, bundle, signing_key=key)
        build_seconds = time.perf_counter() - started
        port = free_loopback_port()
        command = [str(opa_binary()), "run", "--server", "--disable-telemetry", "--addr", f"127.0.0.1:{port}"]
        command += ["--verification-key", str(public), "--bundle"]  # it verifies the signature, as in production
        opa = subprocess.Popen([*command, str(bundle)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            evaluator = OpaEvaluator(load_settings(environ={}, opa_url=f"http://127.0.0.1:{port}"))
            own, foreign = _document(0), _document(teams - 1)
            _wait_ready(evaluator, own)
            assert not evaluator.evaluate(own).rejected and len(evaluator.evaluate(foreign).violations) >= 150
            own_ms, foreign_ms = _latencies_ms(evaluator, own), _latencies_ms(evaluator, foreign)
            rss = _rss_mb(opa.pid)
        finally:
            opa.terminate()
            opa.wait(timeout=10)

        def p50_p99(values: list[float]) -> str:
            return f"{statistics.median(values):.1f}/{values[int(0.99 * len(values)) - 1]:.1f} ms"

        print(
            f"{teams:>5} {registry.stat().st_size / 1024:>7.0f}KB {build_seconds:>6.2f}s {rss:>6.0f}MB  "
            f"{p50_p99(own_ms):>15}  {p50_p99(foreign_ms):>15}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
