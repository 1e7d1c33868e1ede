"""Parse overhead of the policy: 200 DAG files x 50 tasks, parsed with and without airflow-policies
against a local OPA, in one run; plus per-DAG decision latency.

Two parse paths are timed, with and without the policy, in alternating rounds:
- ``dagbag``: Airflow's DagBag in this process (the leanest parse there is: the strictest ratio);
- ``reserialize``: ``airflow dags reserialize`` in a sandbox (parse + serialization + metadata-DB write);
- ``dag_processor``: ``airflow dag-processor --num-runs 1`` (a forked child per file, as production
  parses). "Without" unregisters the policy plugin before the command runs; nothing else differs.

Run: .venv/bin/python benchmarks/parse_overhead.py [--files 200] [--tasks 50] [--rounds 3]
Reports ratios measured in one run (the machine is noisy), never absolute targets.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

_HOME = tempfile.mkdtemp(prefix="airflow-policies-bench-")
os.environ.update({"AIRFLOW_HOME": _HOME, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"})

DAG_TEMPLATE = textwrap.dedent("""
    import pendulum
    from airflow.sdk import DAG
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

    with DAG("team_a__bench_{index}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
             tags={tags}, default_args={default_args}):
        previous = None
        for i in range({tasks}):
            if i % 2:
                task = SQLExecuteQueryOperator(task_id=f"q{{i}}", conn_id="team_a_postgres", sql="select 1")
            else:
                task = BashOperator(task_id=f"b{{i}}", bash_command="echo {{{{ var.value.team_a_threshold }}}}")
            if previous is not None:
                previous >> task
            previous = task
""")


def _write_bundle(root: Path, files: int, tasks: int, routed: bool) -> None:
    """DAG files whose tasks are left on the default queue and pool (every task gets routed: the worst
    case), or that already use the team's queue, pool and tag (the decision changes nothing)."""
    tags, default_args = (
        (["bench", "team:team_a"], {"queue": "team_a", "pool": "team_a_pool"}) if routed else (["bench"], {})
    )
    root.mkdir(parents=True, exist_ok=True)
    for index in range(files):
        source = DAG_TEMPLATE.format(index=index, tasks=tasks, tags=tags, default_args=default_args)
        (root / f"dag_{index:04d}.py").write_text(source)


# The Airflow commands timed, each run in-process after imports, with or without our policy plugin.
AIRFLOW_COMMANDS = {
    "reserialize": ["dags", "reserialize"],
    "dag_processor": ["dag-processor", "--num-runs", "1"],
}
RUN_COMMAND = """
import sys, time
from airflow import settings
from airflow.cli import cli_parser
if sys.argv[1] == "without":
    settings.get_policy_plugin_manager().unregister(name="airflow_policies")
args = cli_parser.get_parser().parse_args(sys.argv[2:])
started = time.perf_counter()
args.func(args)
print(time.perf_counter() - started)
"""


def _command_seconds(env: dict[str, str], command: str, with_policy: bool) -> float:
    import subprocess

    result = subprocess.run(
        [sys.executable, "-c", RUN_COMMAND, "with" if with_policy else "without", *AIRFLOW_COMMANDS[command]],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--routed", action="store_true", help="DAGs already on their team's queue/pool (no mutations needed)"
    )
    args = parser.parse_args()

    repo = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(repo))
    from airflow import settings
    from airflow.dag_processing.dagbag import DagBag

    from airflow_policies import _config
    from airflow_policies.decision.opa_client import OpaEvaluator
    from airflow_policies.document.builder import build_input
    from airflow_policies.document.models import BundleInfo
    from airflow_policies.local.opa_server import local_opa
    from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec
    from airflow_policies.local.testing import reload_configuration

    root = Path(_HOME) / "team_a"
    _write_bundle(root, args.files, args.tasks, args.routed)
    os.environ["AIRFLOW__AIRFLOW_POLICIES__BUNDLE_TEAMS"] = json.dumps({"team_a_dags": "team_a"})
    manager = settings.get_policy_plugin_manager()
    plugin = manager.unregister(name="airflow_policies")

    def parse(with_policy: bool) -> tuple[float, DagBag]:
        if with_policy:
            manager.register(plugin, name="airflow_policies")
        try:
            started = time.perf_counter()
            bag = DagBag(dag_folder=root, bundle_path=root, bundle_name="team_a_dags", safe_mode=False)
            return time.perf_counter() - started, bag
        finally:
            if with_policy:
                manager.unregister(name="airflow_policies")

    with local_opa(repo / "examples" / "registry.yaml") as url:
        os.environ["AIRFLOW__AIRFLOW_POLICIES__OPA_URL"] = url
        reload_configuration()
        parse(True)  # warm imports and OPA's compiled query
        without, with_policy = [], []
        for _ in range(args.rounds):  # interleaved so drift hits both sides alike
            elapsed, unpolicied_bag = parse(False)
            without.append(elapsed)
            elapsed, bag = parse(True)
            with_policy.append(elapsed)
            assert not bag.import_errors, bag.import_errors
            assert len(bag.dags) == args.files

        # Latency on DAGs as their authors wrote them (parsed without the policy, so not yet routed): the
        # decision then carries every mutation, as it does in a real parse.
        evaluator = OpaEvaluator(_config.settings())
        bundle = BundleInfo(name="team_a_dags", team="team_a")
        build_ms, decide_ms = [], []
        for dag in unpolicied_bag.dags.values():
            started = time.perf_counter()
            document = build_input(dag, bundle=bundle, enforcement_point="cli")
            built = time.perf_counter()
            evaluator.evaluate(document)
            build_ms.append((built - started) * 1000)
            decide_ms.append((time.perf_counter() - built) * 1000)

        sandbox = AirflowSandbox(
            home=Path(_HOME) / "sandbox",
            bundles=[BundleSpec("team_a_dags", root, "team_a")],
            opa_url=url,
            install_drop_in=False,
        )
        sandbox.initialise()
        _command_seconds(sandbox.env, "reserialize", True)  # the first write of every DAG row, untimed
        timings: dict[str, dict[bool, list[float]]] = {c: {False: [], True: []} for c in AIRFLOW_COMMANDS}
        for _ in range(args.rounds):
            for command in AIRFLOW_COMMANDS:
                for policy_on in (False, True):
                    timings[command][policy_on].append(_command_seconds(sandbox.env, command, policy_on))
        stored = sandbox.state()
        assert len(stored["dags"]) == args.files and not stored["import_errors"], stored["import_errors"]

    base, policy = statistics.median(without), statistics.median(with_policy)
    result = {
        "files": args.files,
        "tasks_per_dag": args.tasks,
        "rounds": args.rounds,
        "dags_already_routed": args.routed,
        "dagbag_seconds_without_policy_median": round(base, 3),
        "dagbag_seconds_with_policy_median": round(policy, 3),
        "dagbag_ratio_with_over_without": round(policy / base, 3),
        **{
            key: value
            for command, runs in timings.items()
            for key, value in (
                (f"{command}_seconds_without_policy_median", round(statistics.median(runs[False]), 3)),
                (f"{command}_seconds_with_policy_median", round(statistics.median(runs[True]), 3)),
                (
                    f"{command}_ratio_with_over_without",
                    round(statistics.median(runs[True]) / statistics.median(runs[False]), 3),
                ),
            )
        },
        "per_dag_input_build_ms_p50": round(_percentile(build_ms, 0.5), 2),
        "per_dag_input_build_ms_p99": round(_percentile(build_ms, 0.99), 2),
        "per_dag_opa_decision_ms_p50": round(_percentile(decide_ms, 0.5), 2),
        "per_dag_opa_decision_ms_p99": round(_percentile(decide_ms, 0.99), 2),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
