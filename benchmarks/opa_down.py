"""A DAG-processor pass with OPA down costs about one timeout, not one per file (the circuit breaker).

Times ``airflow dag-processor --num-runs 1`` (a forked child per file, as production parses) over 200 DAG
files with the policy on, against: a real OPA (``up``); a port that accepts connections and never answers
(``hanging``: every request would wait the whole read timeout); and a closed port (``refused``). The
breaker's state file is cleared before every pass. Alternating rounds, one run; reports the extra
seconds over ``up`` next to the read timeout, and what the same pass would cost with one timeout per file.

Run: .venv/bin/python benchmarks/opa_down.py [--files 200] [--tasks 10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from parse_overhead import _HOME, _command_seconds, _write_bundle

READ_TIMEOUT = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    from airflow_policies._paths import example_registry
    from airflow_policies.local.opa_server import local_opa
    from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec

    root = Path(_HOME) / "bundle"
    _write_bundle(root, args.files, args.tasks, routed=True)
    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(1024)  # the kernel completes the handshakes; nobody ever reads or answers
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    urls = {
        "hanging": f"http://127.0.0.1:{hanging.getsockname()[1]}",
        "refused": f"http://127.0.0.1:{closed.getsockname()[1]}",
    }
    timings: dict[str, list[float]] = {mode: [] for mode in ("up", *urls)}
    with local_opa(example_registry()) as up:
        urls["up"] = up
        sandbox = AirflowSandbox(
            home=Path(_HOME) / "sandbox", bundles=[BundleSpec("team_a_dags", root, "team_a")], opa_url=up
        )
        sandbox.extra_env.update(
            {
                "AIRFLOW__AIRFLOW_POLICIES__READ_TIMEOUT_SECONDS": str(READ_TIMEOUT),
                "AIRFLOW__AIRFLOW_POLICIES__DECISION_LOG": "none",
            }
        )
        sandbox.initialise()
        _command_seconds(sandbox.env, "reserialize", True)  # the first write of every DAG row, untimed
        for round_ in range(args.rounds):
            for mode in timings:
                shutil.rmtree(sandbox.home / "policy-state", ignore_errors=True)
                env = sandbox.env | {"AIRFLOW__AIRFLOW_POLICIES__OPA_URL": urls[mode]}
                seconds = _command_seconds(env, "dag_processor", True)
                timings[mode].append(seconds)
                print(f"round {round_ + 1}: {mode:<8} {seconds:6.2f} s", file=sys.stderr, flush=True)
        state = sandbox.state()
    rejected = len(state["import_errors"])
    up_median = statistics.median(timings["up"])
    print(
        f"\n{args.files} files x {args.tasks} tasks, airflow dag-processor --num-runs 1, read timeout {READ_TIMEOUT} s"
    )
    print(f"{'OPA':<10}{'median s':>10}{'extra over up':>16}{'extra / timeout':>17}")
    for mode, values in timings.items():
        extra = statistics.median(values) - up_median
        print(f"{mode:<10}{statistics.median(values):>10.2f}{extra:>16.2f}{extra / READ_TIMEOUT:>17.2f}")
    print(f"one timeout per file would add {args.files * READ_TIMEOUT:.0f} s")
    print(f"files rejected (fail closed) after the last pass: {rejected} of {args.files}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
