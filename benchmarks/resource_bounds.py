"""Resource bounds of the input document: a DAG of 10,000 tasks and a 1 MB template, built and decided.

Reports, in one run: document size, build time and peak Python memory (tracemalloc) of the builder,
OPA's decision time and OPA's resident memory before and after (from /proc), for
- ``tasks``: 10,000 tasks already on their team's queue and pool (nothing to mutate);
- ``routed``: 10,000 tasks left on the default queue and pool (20,000 mutations);
- ``template``: one task whose 1 MB bash_command repeats a connection and a variable reference.

Run: .venv/bin/python benchmarks/resource_bounds.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-policies-bench-"))


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _opa_pid(url: str) -> int:
    address = url.removeprefix("http://").encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if address in (entry / "cmdline").read_bytes():
                    return int(entry.name)
            except OSError:
                continue
    raise RuntimeError("OPA process not found")


def main() -> int:
    import pendulum
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from airflow_policies._config import load_settings
    from airflow_policies._paths import example_registry
    from airflow_policies.decision.opa_client import OpaEvaluator
    from airflow_policies.document.builder import build_input
    from airflow_policies.document.models import BundleInfo
    from airflow_policies.local.opa_server import local_opa

    start = pendulum.datetime(2026, 1, 1, tz="UTC")
    dags = {}
    with DAG("team_a__tasks", schedule=None, start_date=start, tags=["team:team_a"]) as dags["tasks"]:
        for n in range(10_000):
            EmptyOperator(task_id=f"t{n}", queue="team_a", pool="team_a_pool")
    with DAG("team_a__routed", schedule=None, start_date=start, tags=["team:team_a"]) as dags["routed"]:
        for n in range(10_000):
            EmptyOperator(task_id=f"t{n}")
    with DAG("team_a__template", schedule=None, start_date=start, tags=["team:team_a"]) as dags["template"]:
        template = "echo {{ conn.team_a_postgres.host }} {{ var.value.team_a_threshold }}\n" * 16_000
        BashOperator(task_id="b", bash_command=template, queue="team_a", pool="team_a_pool")
    bundle = BundleInfo(name="team_a_dags", team="team_a")
    print(f"{'case':<10}{'doc MB':>8}{'build s':>9}{'peak MB':>9}{'decide s':>10}{'OPA RSS MB':>18}  outcome")
    with local_opa(example_registry()) as url:
        evaluator = OpaEvaluator(load_settings(environ={}, opa_url=url, read_timeout_seconds=60))
        pid = _opa_pid(url)
        for name, dag in dags.items():
            tracemalloc.start()
            started = time.perf_counter()
            document = build_input(dag, bundle=bundle, enforcement_point="check")
            size = len(document.model_dump_json()) / 1e6
            built = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
            before = _rss_mb(pid)
            started = time.perf_counter()
            decision = evaluator.evaluate(document)
            decided = time.perf_counter() - started
            after = _rss_mb(pid)
            outcome = f"{len(decision.violations)} violations, {len(decision.mutations)} mutations"
            memory = f"{before:>9.0f} -> {after:<6.0f}"
            print(f"{name:<10}{size:>8.2f}{built:>9.2f}{peak:>9.1f}{decided:>10.2f}{memory}  {outcome}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
