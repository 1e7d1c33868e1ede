"""What the ``worker`` point costs a task start: the task runner's re-parse of the DAG file, point on vs off.

Every task start on a worker is a fresh task process that re-parses its DAG file (``task_runner.parse``); with
the ``worker`` point on, the cluster policy decides the DAG there again (build the document, ask OPA). This
times that start-up as a whole process (Python, Airflow's import, the re-parse, the decision), for the one-task
DAG of ``benchmarks/celery_dags``, in pairs (off, on, off, on, ...) against a real OPA with the example registry,
and prints the median of each and of the per-pair ratios on/off. The end-to-end task start on the Celery
deployment is ``benchmarks/celery_throughput.py``.

Run: .venv/bin/python benchmarks/worker_start.py [--pairs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from airflow_policies._paths import example_registry
from airflow_policies.local.opa_server import local_opa
from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec
from airflow_policies.local.testing import WORKER_STARTUP

DAGS = Path(__file__).resolve().parent / "celery_dags"


def _start(sandbox: AirflowSandbox, disabled: str) -> float:
    command = [sys.executable, "-c", WORKER_STARTUP, "team_a__bench_one", "task", "team_a_dags", "bench_one.py"]
    env = sandbox.env | {"AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS": disabled}
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0 or ('"queue": "team_a"' not in result.stdout and disabled == "[]"):
        raise RuntimeError(f"the task start failed or was not decided:\n{result.stdout[-500:]}{result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=15)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="airflow-policies-worker-start-") as work,
        local_opa(example_registry()) as opa_url,
    ):
        sandbox = AirflowSandbox(
            home=Path(work) / "airflow",
            bundles=[BundleSpec("team_a_dags", DAGS, "team_a")],
            opa_url=opa_url,
            extra_env={"AIRFLOW__AIRFLOW_POLICIES__DECISION_LOG": "none"},
        )
        _start(sandbox, '["worker"]')  # warm the file system cache and OPA
        off, on = [], []
        for _ in range(args.pairs):
            off.append(_start(sandbox, '["worker"]'))
            on.append(_start(sandbox, "[]"))
    ratios = [b / a for a, b in zip(off, on, strict=True)]
    print(f"task start (re-parse), worker point off: median {statistics.median(off):.3f} s "
          f"(min {min(off):.3f}, max {max(off):.3f})")  # fmt: skip
    print(f"task start (re-parse), worker point on:  median {statistics.median(on):.3f} s "
          f"(min {min(on):.3f}, max {max(on):.3f})")  # fmt: skip
    print(f"ratio on/off, median of {args.pairs} pairs: {statistics.median(ratios):.3f}; "
          f"difference of medians {1000 * (statistics.median(on) - statistics.median(off)):.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
