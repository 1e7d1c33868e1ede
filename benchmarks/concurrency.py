"""Concurrency: many parse processes against one local OPA, with and without an OPA restart mid-run.

1. ``dag_processor``: the real ``airflow dag-processor --num-runs 1`` with ``[dag_processor]
   parsing_processes`` at this machine's CPU count, over 1,000 DAG files (10 tasks each), one local OPA.
   From the decision log: failed decisions, p50/p99 decision latency, decisions per second.
2. ``hammer``: N processes each running the decision path (input builder + OPA query) in a loop against
   the same OPA: failed decisions, p50/p99 latency, throughput.
3. ``restart``: pass 1 again, with OPA stopped and restarted on the same port part-way through; reports what
   the DAG authors saw (outcomes and the distinct error messages).

Run: .venv/bin/python benchmarks/concurrency.py [--files 1000] [--hammer-processes 8] [--hammer-seconds 15]
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import os
import re
import shutil
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from parse_overhead import _HOME, _command_seconds, _write_bundle


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


def _log_summary(path: Path, seconds: float) -> dict[str, object]:
    records = [json.loads(line) for line in path.read_text().splitlines()]
    latencies = [r["latency_ms"] for r in records if r["error"] is None] or [float("nan")]
    errors = collections.Counter(re.sub(r"\d+", "N", r["error"])[:140] for r in records if r["error"])
    return {
        "decisions": len(records),
        "outcomes": dict(collections.Counter(r["outcome"] for r in records)),
        "failed_decisions": sum(1 for r in records if r["error"]),
        "latency_ms_p50": round(_percentile(latencies, 0.5), 2),
        "latency_ms_p99": round(_percentile(latencies, 0.99), 2),
        "decisions_per_second": round(len(records) / seconds, 1),
        "pass_seconds": round(seconds, 2),
        "errors_seen_by_authors": dict(errors),
    }


def _hammer(url: str, seconds: float, results: multiprocessing.Queue) -> None:
    import pendulum
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from airflow_policies._config import load_settings
    from airflow_policies.decision.opa_client import OpaEvaluator
    from airflow_policies.document.builder import build_input
    from airflow_policies.document.models import BundleInfo
    from airflow_policies.exceptions import DecisionError

    with DAG("team_a__hammer", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as dag:
        for n in range(10):
            EmptyOperator(task_id=f"t{n}")
    evaluator = OpaEvaluator(load_settings(environ={}, opa_url=url))
    latencies, failures = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            evaluator.evaluate(
                build_input(dag, bundle=BundleInfo(name="team_a_dags", team="team_a"), enforcement_point="check")
            )
            latencies.append((time.perf_counter() - started) * 1000)
        except DecisionError:
            failures += 1
    results.put((latencies, failures))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--hammer-processes", type=int, default=8)
    parser.add_argument("--hammer-seconds", type=float, default=15.0)
    args = parser.parse_args()

    from airflow_policies._paths import example_registry
    from airflow_policies.local.opa_server import local_opa
    from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec

    root = Path(_HOME) / "bundle"
    _write_bundle(root, args.files, 10, routed=False)
    processes = os.cpu_count() or 2
    report: dict[str, object] = {"files": args.files, "parsing_processes": processes}
    port = None
    with local_opa(example_registry()) as url:
        port = int(url.rsplit(":", 1)[1])
        sandbox = AirflowSandbox(
            home=Path(_HOME) / "sandbox", bundles=[BundleSpec("team_a_dags", root, "team_a")], opa_url=url
        )
        log = sandbox.home / "decisions.jsonl"
        sandbox.extra_env.update(
            {
                "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": str(processes),
                "AIRFLOW__AIRFLOW_POLICIES__DECISION_LOG": str(log),
            }
        )
        sandbox.initialise()
        log.unlink(missing_ok=True)
        seconds = _command_seconds(sandbox.env, "dag_processor", True)
        report["dag_processor"] = _log_summary(log, seconds)
        print(json.dumps(report["dag_processor"]), file=sys.stderr, flush=True)

        context = multiprocessing.get_context("fork")
        queue: multiprocessing.Queue = context.Queue()
        workers = [
            context.Process(target=_hammer, args=(url, args.hammer_seconds, queue))
            for _ in range(args.hammer_processes)
        ]
        for worker in workers:
            worker.start()
        collected = [queue.get() for _ in workers]
        for worker in workers:
            worker.join()
        succeeded = [value for values, _ in collected for value in values]
        latencies = succeeded or [float("nan")]
        report["hammer"] = {
            "processes": args.hammer_processes,
            "decisions": len(succeeded),
            "failed_decisions": sum(failures for _, failures in collected),
            "latency_ms_p50": round(_percentile(latencies, 0.5), 2),
            "latency_ms_p99": round(_percentile(latencies, 0.99), 2),
            "decisions_per_second": round(len(latencies) / args.hammer_seconds, 1),
        }
        print(json.dumps(report["hammer"]), file=sys.stderr, flush=True)

    # Pass 1 again, with OPA stopped part-way through and started again on the same port 2 s later.
    restart = {"stopped_after_s": round(report["dag_processor"]["pass_seconds"] / 3, 1), "down_for_s": 2.0}  # type: ignore[index]
    first, second = local_opa(example_registry(), port=port), local_opa(example_registry(), port=port)
    first.__enter__()

    def bounce() -> None:
        time.sleep(restart["stopped_after_s"])
        first.__exit__(None, None, None)
        time.sleep(restart["down_for_s"])
        second.__enter__()

    shutil.rmtree(sandbox.home / "policy-state", ignore_errors=True)
    log.unlink(missing_ok=True)
    bouncer = threading.Thread(target=bounce)
    bouncer.start()
    seconds = _command_seconds(sandbox.env, "dag_processor", True)
    bouncer.join()
    second.__exit__(None, None, None)
    report["restart"] = restart | _log_summary(log, seconds)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
