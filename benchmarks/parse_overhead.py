"""Parse overhead of the policy: 200 DAG files x 50 tasks, parsed with and without airflow-policies
against a local OPA, in one run; per-DAG latency of the decision path; ``opa bench`` of the same documents.

Three parse paths are timed, with and without the policy, in alternating rounds:
- ``dagbag``: Airflow's DagBag in this process (the leanest parse there is: the strictest ratio);
- ``reserialize``: ``airflow dags reserialize`` in a sandbox (parse + serialization + metadata-DB write);
- ``dag_processor``: ``airflow dag-processor --num-runs 1`` (a forked child per file, as production
  parses). The DAG processor decides each DAG once, in its manager (the parse children decide nothing).
  "Without" unregisters the policy plugin and disables every enforcement point (so the manager decides
  nothing either); nothing else differs.
- steady state (``--passes N``): the same dag-processor looping over every file 1 + N times with
  ``min_file_process_interval`` 0, as production re-parses every file every interval; the time per pass is
  measured inside the command, from the end of the first pass (every file parsed once) to the end of the last,
  over the N passes between, so start-up and the first pass are not counted. Passes over
  unchanged files decide nothing (the manager reuses its verdict per DAG version;
  ``tests/integration/test_decisions_per_pass.py``).

Per DAG (the benchmark's own DAGs as their authors wrote them): input build, OPA decision (serialize,
HTTP, OPA, validate), the whole decision path (build + judge, which writes the decision-log line) and the
longest decision-log line. ``opa bench`` (the pinned OPA, in process: rule evaluation alone) runs the
worst-case and the routed 50-task document through the same rules and registry, and, as the floors under them,
the same DAG without tasks (every rule evaluated, no task to look at) and the query ``true`` on the same input
(OPA's own cost of one evaluation).

Every parse path is timed twice: wall-clock seconds, and CPU seconds of everything the parse ran (this process
or the command's process tree, from the end of its imports, plus the local OPA server, read from /proc: Linux
only). CPU time does not count the time a busy or shared machine takes away, so its ratios move less between
runs.

Run: .venv/bin/python benchmarks/parse_overhead.py [--files 200] [--tasks 50] [--rounds 3] [--passes 3]
Reports ratios measured in one run (the machine is noisy), never absolute targets; the targets of issue
#14 (#28 for the DAG processor) are printed beside the numbers (``docs/performance.md``).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

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

#: Issue #14's targets, with issue #28's for the DAG processor (one decision per DAG version, in the manager):
#: (metric, target, how it compares).
TARGETS = {
    "dag_processor_ratio": (1.06, "<="),
    "steady_state_ratio": (1.02, "<="),
    "reserialize_ratio": (1.10, "<="),
    "dagbag_ratio": (1.30, "<="),
    "input_build_ms_p50": (0.6, "<="),
    "opa_decision_ms_p50": (1.5, "<="),
    "opa_decision_ms_p99": (4.0, "<="),
    "decision_path_ms_p50": (2.5, "<="),
    "opa_bench_worst_ms": (0.5, "<="),
    "opa_bench_routed_ms": (0.3, "<="),
    "decision_log_line_bytes_max": (3072, "<="),
}


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


def _opa_cpu_seconds(parent: int) -> float:
    """CPU seconds (user + system) the OPA server started by process ``parent`` has used so far."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended while the list was read
            continue
        name, fields = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
        if name == "opa" and int(fields[1]) == parent:  # fields from the state on: ppid, ..., utime, stime
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    raise RuntimeError("the local OPA server is not a child process of this benchmark")


RUN_COMMAND = (
    """
import json, os, resource, sys, time
from pathlib import Path
"""
    + inspect.getsource(_opa_cpu_seconds)
    + """
from airflow import settings
from airflow.cli import cli_parser
from airflow.dag_processing.manager import DagFileProcessorManager
def cpu():  # this process, every child it has waited for (the DAG processor's parse children), and OPA
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + _opa_cpu_seconds(os.getppid())
# (wall, CPU) when every file had been parsed once, twice, ...: the ends of the passes over the files.
passes = []
collect = DagFileProcessorManager._collect_results
def _collect_results(self):
    collect(self)
    if self._file_stats and min(stat.run_count for stat in self._file_stats.values()) > len(passes):
        passes.append((time.perf_counter(), cpu()))
DagFileProcessorManager._collect_results = _collect_results
if sys.argv[1] == "without":
    settings.get_policy_plugin_manager().unregister(name="airflow_policies")
args = cli_parser.get_parser().parse_args(sys.argv[2:])
started, cpu_started = time.perf_counter(), cpu()
args.func(args)
print(json.dumps({"wall": time.perf_counter() - started, "cpu": cpu() - cpu_started, "passes": passes}))
"""
)


def _command_run(env: dict[str, str], command: list[str], with_policy: bool) -> dict[str, Any]:
    """One Airflow command, run in-process after imports, with or without the policy: wall and CPU seconds (its
    process tree and the OPA server) from the end of its imports, and the DAG processor's pass starts."""
    from typing import get_args

    from airflow_policies._config import airflow_env_name
    from airflow_policies.document.models import EnforcementPoint

    if not with_policy:  # the manager's re-check is not a pluggy hook: switched off by configuration
        env = {**env, airflow_env_name("disabled_points"): json.dumps(get_args(EnforcementPoint))}
    result = subprocess.run(
        [sys.executable, "-c", RUN_COMMAND, "with" if with_policy else "without", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _steady_pass(run: dict[str, Any]) -> tuple[float, float]:
    """(wall, CPU) seconds of one pass over unchanged files: from the end of the first pass (every file parsed once)
    to the end of the last, over the passes between. Start-up and the first pass (the first decisions) are left
    out."""
    ends = run["passes"]
    if len(ends) < 2:
        raise RuntimeError(f"the DAG processor made {len(ends)} passes; --passes must be at least 1")
    return tuple((ends[-1][i] - ends[0][i]) / (len(ends) - 1) for i in (0, 1))  # type: ignore[return-value]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def opa_bench(
    repo: Path, document: Path, count: int = 5, query: str = "data.airflow_policies.main.decision"
) -> dict[str, float]:
    """``opa bench`` of the decision (or another query) on one input document: median ms/op, allocations and
    bytes per op."""
    from airflow_policies._paths import opa_binary
    from airflow_policies.policy.revision import REGISTRY_DATA_PATH

    command = [
        str(opa_binary()), "bench", "--count", str(count), "--format", "json", "--metrics=false",
        "--ignore", "*_test.rego", "--ignore", "samples", "--ignore", "suite.yaml",
        "-d", str(repo / "rego"), "-d", f"{REGISTRY_DATA_PATH}:{repo / 'examples' / 'registry.yaml'}",
        "-i", str(document), query,
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    runs, decoder, position = [], json.JSONDecoder(), 0
    while position < len(output.rstrip()):
        run, position = decoder.raw_decode(output, position)
        runs.append(run)
        while position < len(output) and output[position].isspace():
            position += 1
    return {
        "ms_per_op_median": round(statistics.median(r["T"] / r["N"] / 1e6 for r in runs), 3),
        "allocs_per_op": round(statistics.median(r["MemAllocs"] / r["N"] for r in runs)),
        "bytes_per_op": round(statistics.median(r["MemBytes"] / r["N"] for r in runs)),
    }


def _bench_documents(tasks: int, directory: Path) -> dict[str, Path]:
    """The worst-case and the routed document of one generated DAG each, as the policy would send them (the
    DAGs parsed with our policy plugin unregistered, so as their authors wrote them)."""
    from airflow import settings
    from airflow.dag_processing.dagbag import DagBag

    from airflow_policies.document.builder import build_input
    from airflow_policies.document.models import BundleInfo

    paths = {}
    manager = settings.get_policy_plugin_manager()
    plugin = manager.unregister(name="airflow_policies")
    for name, routed in (("worst", False), ("routed", True)):
        root = directory / name
        _write_bundle(root, 1, tasks, routed)
        bag = DagBag(dag_folder=root, bundle_path=root, bundle_name="team_a_dags", safe_mode=False)
        (dag,) = bag.dags.values()
        document = build_input(dag, bundle=BundleInfo(name="team_a_dags", team="team_a"), enforcement_point="cli")
        paths[name] = directory / f"{name}.json"
        paths[name].write_text(document.model_dump_json())
        if routed:  # the floor under both: this DAG without tasks, every rule evaluated, no task to look at
            paths["no_tasks"] = directory / "no_tasks.json"
            paths["no_tasks"].write_text(document.model_copy(update={"tasks": []}).model_dump_json())
    if plugin is not None:
        manager.register(plugin, name="airflow_policies")
    return paths


def _median(runs: list[float]) -> float:
    return round(statistics.median(runs), 3)


def _compare(result: dict[str, Any], name: str, runs: dict[bool, list[tuple[float, float]]]) -> None:
    """Medians and ratios, with the policy over without, of wall and CPU seconds."""
    for suffix, index in (("", 0), ("_cpu", 1)):
        without, with_policy = ([run[index] for run in runs[on]] for on in (False, True))
        result[f"{name}{suffix}_seconds"] = [_median(without), _median(with_policy)]
        result[f"{name}{suffix}_ratio"] = round(statistics.median(with_policy) / statistics.median(without), 3)


def _report(result: dict[str, Any]) -> str:
    lines = [f"{'metric':<32}{'measured':>12}{'target':>10}  met"]
    for metric, (target, _) in TARGETS.items():
        # Each ratio of wall seconds is followed by the same ratio of CPU seconds.
        for name in (metric, metric.replace("_ratio", "_cpu_ratio")) if metric.endswith("_ratio") else (metric,):
            value = result.get(name)
            if value is not None:
                lines.append(f"{name:<32}{value:>12}{target:>10}  {'yes' if value <= target else 'NO'}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--passes", type=int, default=3, help="steady-state dag-processor passes after the first (0: skip)"
    )
    parser.add_argument(
        "--routed", action="store_true", help="DAGs already on their team's queue/pool (no mutations needed)"
    )
    parser.add_argument(
        "--no-commands", action="store_true", help="skip reserialize and the dag-processor (quick iterations)"
    )
    parser.add_argument(
        "--engine",
        choices=["server", "wasm"],
        default="server",
        help="wasm: parse-time decisions in process (engine: wasm); the manager's re-check still asks the server",
    )
    args = parser.parse_args()

    repo = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(repo))
    from airflow import settings
    from airflow.dag_processing.dagbag import DagBag

    from airflow_policies import _config
    from airflow_policies.decision.opa_client import OpaEvaluator
    from airflow_policies.decision.verdict import judge
    from airflow_policies.document.builder import build_input
    from airflow_policies.document.models import BundleInfo
    from airflow_policies.local.opa_server import local_opa
    from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec
    from airflow_policies.local.testing import reload_configuration
    from airflow_policies.policy.bundle import build_bundle

    root = Path(_HOME) / "team_a"
    _write_bundle(root, args.files, args.tasks, args.routed)
    os.environ["AIRFLOW__AIRFLOW_POLICIES__BUNDLE_TEAMS"] = json.dumps({"team_a_dags": "team_a"})
    # A file, as the sandbox's commands (and production) write it: not a line per decision on the terminal.
    os.environ["AIRFLOW__AIRFLOW_POLICIES__DECISION_LOG"] = str(Path(_HOME) / "dagbag-decisions.jsonl")
    manager = settings.get_policy_plugin_manager()
    plugin = manager.unregister(name="airflow_policies")

    def parse(with_policy: bool) -> tuple[tuple[float, float], DagBag]:
        if with_policy:
            manager.register(plugin, name="airflow_policies")
        try:
            cpu_before = time.process_time() + _opa_cpu_seconds(os.getpid())
            started = time.perf_counter()
            bag = DagBag(dag_folder=root, bundle_path=root, bundle_name="team_a_dags", safe_mode=False)
            wall = time.perf_counter() - started
            return (wall, time.process_time() + _opa_cpu_seconds(os.getpid()) - cpu_before), bag
        finally:
            if with_policy:
                manager.unregister(name="airflow_policies")

    result: dict[str, Any] = {
        "files": args.files,
        "tasks_per_dag": args.tasks,
        "rounds": args.rounds,
        "dags_already_routed": args.routed,
        "engine": args.engine,
    }
    engine_env = {}
    if args.engine == "wasm":
        wasm_bundle = Path(_HOME) / "policy-wasm.tar.gz"
        build_bundle(repo / "examples" / "registry.yaml", wasm_bundle, wasm=True)
        engine_env = {
            "AIRFLOW__AIRFLOW_POLICIES__ENGINE": "wasm",
            "AIRFLOW__AIRFLOW_POLICIES__WASM_BUNDLE": str(wasm_bundle),
        }
        os.environ.update(engine_env)
    bench_documents = _bench_documents(args.tasks, Path(_HOME) / "bench-documents")
    with local_opa(repo / "examples" / "registry.yaml") as url:
        os.environ["AIRFLOW__AIRFLOW_POLICIES__OPA_URL"] = url
        reload_configuration()
        parse(True)  # warm imports and OPA's compiled query
        dagbag_runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for _ in range(args.rounds):  # interleaved so drift hits both sides alike
            elapsed, unpolicied_bag = parse(False)
            dagbag_runs[False].append(elapsed)
            elapsed, bag = parse(True)
            dagbag_runs[True].append(elapsed)
            assert not bag.import_errors, bag.import_errors
            assert len(bag.dags) == args.files
        _compare(result, "dagbag", dagbag_runs)

        # Latency on DAGs as their authors wrote them (parsed without the policy, so not yet routed): the
        # decision then carries every mutation, as it does in a real parse.
        if args.engine == "wasm":
            from airflow_policies.decision.wasm import WasmEvaluator

            evaluate = WasmEvaluator(Path(engine_env["AIRFLOW__AIRFLOW_POLICIES__WASM_BUNDLE"])).evaluate
        else:
            evaluate = OpaEvaluator(_config.settings()).evaluate
        bundle = BundleInfo(name="team_a_dags", team="team_a")
        log = Path(_HOME) / "decisions.jsonl"
        build_ms, decide_ms, path_ms = [], [], []
        for _ in range(3):
            for dag in unpolicied_bag.dags.values():
                started = time.perf_counter()
                document = build_input(dag, bundle=bundle, enforcement_point="cli")
                built = time.perf_counter()
                evaluate(document)
                decided = time.perf_counter()
                judge(
                    build_input(dag, bundle=bundle, enforcement_point="cli"),
                    evaluate,
                    failure_mode="closed",
                    decision_log=str(log),
                )
                build_ms.append((built - started) * 1000)
                decide_ms.append((decided - built) * 1000)
                path_ms.append((time.perf_counter() - decided) * 1000)
        for name, values in (("input_build", build_ms), ("opa_decision", decide_ms), ("decision_path", path_ms)):
            result[f"{name}_ms_p50"] = round(_percentile(values, 0.5), 2)
            result[f"{name}_ms_p99"] = round(_percentile(values, 0.99), 2)
        result["decision_log_line_bytes_max"] = max(len(line) for line in log.read_bytes().splitlines())

        for name, document_path in bench_documents.items():
            bench = opa_bench(repo, document_path)
            result[f"opa_bench_{name}_ms"] = bench["ms_per_op_median"]
            result[f"opa_bench_{name}_allocs_per_op"] = bench["allocs_per_op"]
            result[f"opa_bench_{name}_bytes_per_op"] = bench["bytes_per_op"]
        # OPA's own cost of one query on this input, whatever the rules: the engine's per-evaluation floor.
        result["opa_bench_query_true_ms"] = opa_bench(repo, bench_documents["worst"], query="true")["ms_per_op_median"]

        if not args.no_commands:
            sandbox = AirflowSandbox(
                home=Path(_HOME) / "sandbox",
                bundles=[BundleSpec("team_a_dags", root, "team_a")],
                opa_url=url,
                install_drop_in=False,
                extra_env=engine_env,
            )
            sandbox.initialise()
            # Every file re-parsed as soon as its last parse finished, as a steady state of many passes.
            env = {**sandbox.env, "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "0"}
            commands = {
                "reserialize": ["dags", "reserialize"],
                "dag_processor": ["dag-processor", "--num-runs", "1"],
            }
            if args.passes:
                commands["dag_processor_passes"] = ["dag-processor", "--num-runs", str(1 + args.passes)]
            _command_run(env, commands["reserialize"], True)  # the first write of every DAG row, untimed
            runs: dict[str, dict[bool, list[dict[str, Any]]]] = {c: {False: [], True: []} for c in commands}
            for _ in range(args.rounds):
                for command, argv in commands.items():
                    for policy_on in (False, True):
                        runs[command][policy_on].append(_command_run(env, argv, policy_on))
            stored = sandbox.state()
            assert len(stored["dags"]) == args.files and not stored["import_errors"], stored["import_errors"]
            for command in ("reserialize", "dag_processor"):
                _compare(
                    result,
                    command,
                    {on: [(run["wall"], run["cpu"]) for run in runs[command][on]] for on in (False, True)},
                )
            if args.passes:
                result["steady_state_passes"] = args.passes
                _compare(
                    result,
                    "steady_state",
                    {on: [_steady_pass(run) for run in runs["dag_processor_passes"][on]] for on in (False, True)},
                )
                for suffix in ("", "_cpu"):
                    without, with_policy = result[f"steady_state{suffix}_seconds"]
                    result[f"steady_state{suffix}_overhead_seconds_per_pass"] = round(with_policy - without, 3)

    print(json.dumps(result, indent=2))
    print(_report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
