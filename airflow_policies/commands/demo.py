"""The two-team demo: real OPA on loopback, a real multi-team Airflow parse through the drop-in."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Literal

from airflow_policies._paths import example_dags, example_kubernetes_dags, example_registry, example_rollout
from airflow_policies.commands.common import (
    Subcommands,
)
from airflow_policies.exceptions import ConfigurationError
from airflow_policies.local.opa_server import local_opa
from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec, UserSpec
from airflow_policies.posture.models import PostureReport

__all__ = ["run_demo"]

_BUNDLES = (("team_a_dags", "team_a"), ("team_b_dags", "team_b"), ("shared_dags", None))
#: Who can log in to the demo's UI (SimpleAuthManager): a viewer per team, and an admin who sees both.
_USERS = {
    "alice": UserSpec(role="viewer", password="alice", teams=("team_a",)),
    "bob": UserSpec(role="viewer", password="bob", teams=("team_b",)),
    "admin": UserSpec(role="admin", password="admin"),
}
_RULE = re.compile(r"^\s+- \[([a-z_.]+)\] (.*)$", re.MULTILINE)


def _rows(sandbox: AirflowSandbox, state: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    errors = {(e["bundle"], e["file"]): e["message"] for e in state["import_errors"]}
    warnings = {w["dag_id"]: w["message"] for w in state["dag_warnings"]}
    rows = []
    for bundle in sandbox.bundles:
        for path in sorted(bundle.path.glob("*.py")):
            team = bundle.team or "-"
            message = errors.get((bundle.name, path.name))
            if message is not None:
                findings = _RULE.findall(message) or [("error", message.splitlines()[0])]
                for index, (rule, text) in enumerate(findings):
                    head = (bundle.name, team, path.name, "REJECTED") if index == 0 else ("", "", "", "")
                    rows.append((*head, f"{rule}: {text}"))
                continue
            for dag_id, dag in sorted(state["dags"].items()):
                if dag["bundle"] != bundle.name or dag["fileloc"] != path.name:
                    continue
                routing = sorted({f"queue={t['queue']} pool={t['pool']}" for t in dag["tasks"].values()})
                detail = f"{dag_id} stored with {', '.join(routing)}; tags={','.join(dag['tags']) or '-'}"
                warned = _RULE.findall(warnings.get(dag_id, ""))
                rows.append((bundle.name, team, path.name, "WARNED" if warned else "ADMITTED", detail))
                rows.extend(("", "", "", "", f"DAG warning in the UI: {rule}: {text}") for rule, text in warned)
    return rows


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    header = ("BUNDLE", "TEAM", "FILE", "OUTCOME", "WHAT THE POLICY DID")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(4)]
    lines = []
    for row in (header, *rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)) + "  " + row[4])
    return "\n".join(lines)


@contextlib.contextmanager
def _bundle_mode_opa(work: Path) -> Iterator[str]:
    """A signed bundle on a local bundle server, and an OPA replica that polls it and verifies it."""
    from airflow_policies.local.opa_server import local_bundle_server, opa_replica
    from airflow_policies.policy.bundle import BUNDLE_NAME, build_bundle, new_signing_keys, replica_config

    served = work / "served" / "bundles"
    served.mkdir(parents=True)
    private, public = new_signing_keys(work)
    bundle = served / f"{BUNDLE_NAME}.tar.gz"
    revision = build_bundle(
        example_registry(), bundle, rollout=example_rollout(), signing_key=private, key_id=BUNDLE_NAME
    )
    with local_bundle_server(served.parent) as server:
        config = work / "opa-replica.yaml"
        config.write_text(
            json.dumps(replica_config(server, public_key=public, min_delay_seconds=1, max_delay_seconds=2))
        )
        with opa_replica(config, log=work / "opa.log") as url:
            print(f"Signed bundle (revision {revision[:19]}...) on {server}; OPA verified and activated it", flush=True)
            yield url


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, a service manager, a container stop) ends the demo as Ctrl-C does, so the API server,
    the scheduler and OPA it started are stopped too instead of outliving it."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve(sandbox: AirflowSandbox) -> None:
    """Run the API server until interrupted, and say where the Policies page is and who can log in."""
    with sandbox.serve():
        print(f"\nAirflow UI: {sandbox.url}/   Policies page: {sandbox.url}/airflow-policies/", flush=True)
        for name, user in _USERS.items():
            teams = ", ".join(user.teams) or "every team"
            print(f"  log in as {name} / {user.password}  ({user.role}, sees {teams})", flush=True)
        print("Ctrl-C stops the API server, the scheduler and OPA (so does SIGTERM).", flush=True)
        with contextlib.suppress(KeyboardInterrupt), _sigterm_as_interrupt():
            while True:
                time.sleep(3600)


_TERMINAL = {"success", "failed", "upstream_failed", "skipped"}


def _celery_sandbox(stack: ExitStack, home: Path, bundles: list[BundleSpec], opa_url: str) -> AirflowSandbox:
    """The per-team Celery deployment: PostgreSQL, a private Redis broker per team (and the global one)."""
    from airflow_policies.local.postgres_server import local_postgres
    from airflow_policies.local.redis_server import local_redis

    print("Starting PostgreSQL and a Redis broker per team (and one for the global CeleryExecutor) ...", flush=True)
    return AirflowSandbox(
        home=home,
        bundles=bundles,
        opa_url=opa_url,
        users=_USERS,
        database_url=stack.enter_context(local_postgres()),
        celery_brokers={team: stack.enter_context(local_redis()) for team in ("", "team_a", "team_b")},
        # Each worker as a Unix user of its own, as on a machine of its own (needs root).
        isolated_workers=os.geteuid() == 0,
    )


def _run_on_workers(sandbox: AirflowSandbox, state: dict[str, Any]) -> None:
    """Run every admitted team DAG once on the per-team Celery workers and print where each task ran."""
    from airflow_policies.policy.registry import load_registry

    registry = load_registry(example_registry())
    workers = {team: registry.teams[team].queues for team in sandbox.teams}
    for name, slots in (("team_a_pool", "8"), ("team_b_pool", "8"), ("airflow_policies_quarantine", "0")):
        sandbox.airflow("pools", "set", name, slots, "demo")
    dag_ids = sorted(
        dag_id
        for dag_id, dag in state["dags"].items()
        if not dag["has_import_errors"] and any(b.name == dag["bundle"] and b.team for b in sandbox.bundles)
    )
    print(f"\nRunning {', '.join(dag_ids)} on CeleryExecutor: a worker per team, consuming {workers} ...", flush=True)
    with sandbox.serve(workers=workers):
        for dag_id in dag_ids:
            sandbox.airflow("dags", "trigger", dag_id, "--run-id", "demo")

        team_of = {dag_id: _team(sandbox, dag["bundle"]) for dag_id, dag in state["dags"].items()}

        def stranded(ti: dict[str, Any]) -> bool:
            # On a queue its team's worker does not consume: its team's broker holds it, and no worker ever will.
            return ti["state"] == "queued" and ti["queue"] not in workers.get(team_of.get(ti["dag_id"]) or "", [])

        def settled(current: dict[str, Any]) -> bool:
            tis = [ti for ti in current["task_instances"] if ti["run_id"] == "demo"]
            return bool(tis) and all(ti["state"] in _TERMINAL or stranded(ti) for ti in tis)

        with contextlib.suppress(TimeoutError):
            sandbox.wait_for(settled, timeout=240)
        tis = [ti for ti in sandbox.state()["task_instances"] if ti["run_id"] == "demo"]
    rows = [
        (ti["dag_id"], ti["task_id"], str(ti["state"]), ti["queue"], ti["hostname"] or "(not run)", ti["pool"])
        for ti in sorted(tis, key=lambda t: (t["dag_id"], t["task_id"]))
    ]
    header = ("DAG", "TASK", "STATE", "QUEUE", "WORKER THAT RAN IT", "POOL")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    print()
    for row in (header, *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    for ti in filter(stranded, tis):
        print(
            f"{ti['dag_id']}.{ti['task_id']} waits on queue '{ti['queue']}' of its own team's broker, which no worker "
            "consumes: another team's worker listens on that team's broker only."
        )
    _print_worker_posture(sandbox)


def _print_worker_posture(sandbox: AirflowSandbox) -> None:
    """``airflow-policies doctor`` in each team's worker environment (as its user), one line each."""
    print()
    for team in sandbox.teams:
        command = [sys.executable, "-m", "airflow_policies.cli", "doctor", "--component", "worker", "--team", team,
                   "--format", "json"]  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="airflow-policies-mounts-") as mounts:
            if sandbox.isolated_workers:
                command = sandbox.as_worker(team, command, Path(mounts))
            result = subprocess.run(command, env=sandbox.worker_env(team), capture_output=True, text=True, check=False)
        try:
            report = PostureReport.model_validate_json(result.stdout[result.stdout.index("{") :])
        except ValueError:
            print(f"doctor on {team}'s worker failed: {result.stderr[-500:]}")
            continue
        user = "its own Unix user" if sandbox.isolated_workers else "this Unix user (run as root to isolate it)"
        checks = ", ".join(sorted({f.check for f in report.findings})) or "nothing"
        print(f"airflow-policies doctor on {team}'s worker, as {user}: {checks} found (exit {result.returncode})")


def _team(sandbox: AirflowSandbox, bundle_name: str | None) -> str | None:
    return next((b.team for b in sandbox.bundles if b.name == bundle_name), None)


def run_demo(
    workdir: Path | None = None,
    *,
    opa_decision_log: Path | None = None,
    bundle_mode: bool = False,
    serve: bool = False,
    executor: Literal["local", "celery"] = "local",
) -> int:
    """Run the demo and print a table of outcomes; returns the process exit code.

    Args:
        workdir: keep the demo's AIRFLOW_HOME here instead of a temporary directory.
        opa_decision_log: switch on OPA's own decision logging, into this file.
        bundle_mode: OPA pulls the policy as a signed bundle from a local bundle server, as in production.
        serve: then run the API server (UI and Policies page) until interrupted.
        executor: ``celery`` runs the admitted DAGs on a per-team CeleryExecutor deployment (a Redis broker and
            a Celery worker per team, PostgreSQL) and prints the queue and the worker of every task.
    """
    home = workdir or Path(tempfile.mkdtemp(prefix="airflow-policies-demo-"))
    if workdir and home.exists():
        shutil.rmtree(home)
    bundles = [BundleSpec(name, example_dags() / name.removesuffix("_dags"), team) for name, team in _BUNDLES]
    if importlib.util.find_spec("airflow.providers.cncf.kubernetes") is not None:
        # A pod_override reaching into team B's namespace and Secret (the kubernetes extra installs the provider).
        bundles.append(BundleSpec("team_a_pods", example_kubernetes_dags() / "team_a", "team_a"))
    home.mkdir(parents=True, exist_ok=True)
    print(f"Starting OPA with rego/, {example_registry().name} and {example_rollout().name} ...", flush=True)
    opa = (
        _bundle_mode_opa(home / "bundle-mode")
        if bundle_mode
        else local_opa(example_registry(), rollout=example_rollout(), decision_log=opa_decision_log)
    )
    with opa as url, ExitStack() as stack:
        if executor == "celery":
            sandbox = _celery_sandbox(stack, home, bundles, url)
        else:
            sandbox = AirflowSandbox(home=home, bundles=bundles, opa_url=url, users=_USERS)
        print(f"OPA at {url}; AIRFLOW_HOME={home} (multi_team on, drop-in installed)", flush=True)
        print("airflow db migrate; airflow teams create team_a team_b ...", flush=True)
        sandbox.initialise()
        print("airflow dags reserialize  (every DAG file parsed by Airflow, one OPA decision per DAG) ...", flush=True)
        sandbox.airflow("dags", "reserialize")
        state = sandbox.state()
        print()
        print(_table(_rows(sandbox, state)))
        if executor == "celery":
            _run_on_workers(sandbox, state)
        if serve:
            _serve(sandbox)
    print("OPA stopped.")
    if workdir is None:
        shutil.rmtree(home, ignore_errors=True)
    else:
        print(f"\nThe import errors are in {home / 'airflow.db'}, as the Airflow UI shows them.")
    return 0


def register(commands: Subcommands) -> None:
    """Add this command's parser."""
    demo = commands.add_parser("demo", help="run the two-team demo on a local OPA and a real Airflow parse")
    demo.add_argument("--workdir", type=Path, help="keep the demo's AIRFLOW_HOME here (default: a temp dir)")
    demo.add_argument("--opa-decision-log", type=Path, help="switch on OPA's own decision log, into this file")
    demo.add_argument(
        "--bundle-mode", action="store_true", help="OPA pulls the policy as a signed bundle from a local bundle server"
    )
    demo.add_argument(
        "--serve", action="store_true", help="then run Airflow's API server (UI, Policies page) until Ctrl-C"
    )
    demo.add_argument(
        "--executor",
        choices=("local", "celery"),
        default="local",
        help="celery: also run the admitted DAGs on a Celery worker per team, each on its own Redis broker",
    )
    demo.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    """Run the two-team demo."""
    if args.bundle_mode and args.opa_decision_log:
        raise ConfigurationError(
            "--opa-decision-log is for the default mode; in bundle mode OPA's log is in the workdir"
        )
    return run_demo(
        args.workdir,
        opa_decision_log=args.opa_decision_log,
        bundle_mode=args.bundle_mode,
        serve=args.serve,
        executor=args.executor,
    )
