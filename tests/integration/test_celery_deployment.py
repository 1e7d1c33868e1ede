"""The policy in the deployment multi-team users run: one CeleryExecutor per team, each on its own Redis broker,
and one Celery worker per team (``--team``, only its team's queues and bundles, no metadata DB address, JWT secret
or Fernet key, results on its broker's server). Real API server, scheduler, PostgreSQL metadata DB, Redis
servers, Celery workers and OPA; one deployment for the module.

``[core] executor = CeleryExecutor;team_a=CeleryExecutor;team_b=CeleryExecutor``: the global CeleryExecutor has
a broker of its own and no worker, so a task the scheduler gives it never runs. The registry is the example's,
with each team's executors as ``airflow-policies sync`` writes them (``CeleryExecutor``) and no global executor
opened to teams.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from airflow_policies.local.opa_server import local_opa
from airflow_policies.local.postgres_server import local_postgres
from airflow_policies.local.redis_server import local_redis
from airflow_policies.local.sandbox import WORKER_SECRETS, AirflowSandbox, BundleSpec
from tests.conftest import REPO

DAGS = Path(__file__).resolve().parent / "celery"
#: Team A's task looking for the keys to act as team B (shared with the LocalExecutor deployment's test).
POSTURE = Path(__file__).resolve().parent / "posture"
TERMINAL = {"success", "failed", "upstream_failed", "skipped"}
QUARANTINE = "airflow_policies_quarantine"
RUNS = ("team_a__routed", "team_b__routed", "team_a__reads_team_b_conn", "team_a__bypass_default_queue",
        "team_a__bypass_foreign_queue")  # fmt: skip


class Deployment(NamedTuple):
    sandbox: AirflowSandbox
    settled: dict[str, Any]
    """What the metadata DB held once every run had finished (read once for the tests that only look)."""


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = yaml.safe_load((REPO / "examples" / "registry.yaml").read_text())
    for team in data["teams"].values():
        team["executors"] = ["CeleryExecutor"]
    path = tmp_path_factory.mktemp("celery-registry") / "registry.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def deployment(registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """The deployment, its DAGs parsed, every DAG of interest run once to the end."""
    with ExitStack() as stack:
        opa_url = stack.enter_context(local_opa(registry))
        brokers = {team: stack.enter_context(local_redis()) for team in ("", "team_a", "team_b")}
        sandbox = AirflowSandbox(
            home=tmp_path_factory.mktemp("celery"),
            bundles=[
                BundleSpec("team_a_dags", DAGS / "team_a", "team_a"),
                BundleSpec("team_a_bypass", DAGS / "team_a_bypass", "team_a"),
                BundleSpec("team_a_posture", POSTURE / "team_a", "team_a"),
                BundleSpec("team_b_dags", DAGS / "team_b", "team_b"),
            ],
            opa_url=opa_url,
            database_url=stack.enter_context(local_postgres()),
            celery_brokers=brokers,
            isolated_workers=True,
        )
        sandbox.initialise()
        sandbox.python(_POOLS_AND_CONNECTIONS)
        sandbox.airflow(
            "dag-processor", "--num-runs", "1", "-B", "team_a_dags", "-B", "team_a_posture", "-B", "team_b_dags",
            timeout=300,
        )  # fmt: skip
        # DAG code can switch the parse-time check off; here the DAG processor's manager is off too, so only the
        # scheduler's re-check stands between this bundle's DAGs and the workers.
        bypass = {"AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS": '["dag_processor", "dag_processor_manager"]'}
        sandbox.extra_env.update(bypass)
        sandbox.airflow("dag-processor", "--num-runs", "1", "--bundle-name", "team_a_bypass", timeout=300)
        for name in bypass:
            del sandbox.extra_env[name]
        with sandbox.serve(workers={"team_a": ["team_a"], "team_b": ["team_b"]}):
            sandbox.python(_TRIGGER)
            yield Deployment(sandbox, sandbox.wait_for(_settled, timeout=300))


# One Airflow process for what would take five CLI calls (each imports Airflow anew).
_POOLS_AND_CONNECTIONS = f"""
from airflow.models.connection import Connection
from airflow.models.pool import Pool
from airflow.utils.session import create_session

with create_session() as session:
    Pool.create_or_update_pool("team_a_pool", 4, "team A", include_deferred=False, team_name="team_a", session=session)
    Pool.create_or_update_pool("team_b_pool", 4, "team B", include_deferred=False, team_name="team_b", session=session)
    Pool.create_or_update_pool({QUARANTINE!r}, 0, "rejected", include_deferred=False, session=session)
    session.add(Connection(conn_id="team_a_postgres", uri="postgres://team-a-host/db"))
    session.add(Connection(conn_id="team_b_warehouse", uri="postgres://reader:team-b-password@team-b-host/db"))
"""
# Each DAG of RUNS triggered once, as `airflow dags trigger --run-id proof` does.
_TRIGGER = f"""
from airflow.api.common.trigger_dag import trigger_dag
from airflow.utils.types import DagRunTriggeredByType

for dag_id in {RUNS!r}:
    trigger_dag(dag_id, triggered_by=DagRunTriggeredByType.CLI, run_id="proof")
"""


def _settled(state: dict[str, Any]) -> bool:
    """Every run's task instances finished, except the quarantined ones (which never start)."""
    tis = [ti for ti in state["task_instances"] if ti["run_id"] == "proof"]
    runs = {ti["dag_id"] for ti in tis}
    looked = [ti for ti in state["task_instances"] if ti["dag_id"] == "team_a__look_for_keys"]
    return (
        set(RUNS) <= runs
        and all(ti["state"] in TERMINAL or ti["pool"] == QUARANTINE for ti in tis)
        and bool(looked)
        and all(ti["state"] in TERMINAL for ti in looked)
    )


def _task_instances(state: dict[str, Any], dag_id: str) -> dict[str, dict[str, Any]]:
    return {ti["task_id"]: ti for ti in state["task_instances"] if ti["dag_id"] == dag_id}


def test_each_teams_tasks_run_only_on_its_own_worker(deployment):
    """Left on the default queue, each team's tasks are routed to its queue and run on its worker."""
    for team in ("team_a", "team_b"):
        tis = _task_instances(deployment.settled, f"{team}__routed")
        assert {(ti["state"], ti["queue"], ti["hostname"]) for ti in tis.values()} == {
            ("success", team, f"{team}-worker")
        }, tis


def test_workers_hold_no_key_of_the_deployment(deployment):
    """What a task on a team's worker finds: none of the deployment's JWT secret, Fernet key or metadata DB
    address (a worker's own generated defaults are not the deployment's), and only its team's bundles."""
    found = json.loads(deployment.sandbox.python(_INVENTORIES).splitlines()[-1])
    deployment_keys = {_digest(deployment.sandbox.env[name]) for name in WORKER_SECRETS}
    for team in ("team_a", "team_b"):
        inventory = found[f"{team}__routed"]
        held = {inventory["jwt_secret"], inventory["fernet_key"], inventory["sql_alchemy_conn"]}
        assert not held & deployment_keys, inventory
        bundles = sorted(b.name for b in deployment.sandbox.bundles if b.team == team)
        assert inventory["bundles"] == bundles
    for team in ("team_a", "team_b"):
        env = deployment.sandbox.worker_env(team)
        assert not set(WORKER_SECRETS) & set(env)
        assert [name for name in env if "CELERY__" in name] == [
            f"AIRFLOW__{team.upper()}___CELERY__BROKER_URL",
            f"AIRFLOW__{team.upper()}___CELERY__RESULT_BACKEND",
        ]
        assert env[f"AIRFLOW__{team.upper()}___CELERY__RESULT_BACKEND"].startswith("redis://")


def test_on_its_own_worker_a_task_finds_no_key_and_doctor_nothing(deployment):
    """The LocalExecutor's attack, on team A's worker (its own Unix user): no signing secret or Fernet key in its
    configuration, no process whose environment it may read holds one, so no DB address and no team B password;
    doctor, run by the task on its own process, finds nothing."""
    found = json.loads(deployment.sandbox.python(_LOOKED).splitlines()[-1])
    assert found["state"] == "success" and found["hostname"] == "team_a-worker"
    assert found["look"] == {"found": {}, "team_b_password": None, "doctor_exit": 0, "doctor_checks": []}


_LOOKED = """
import json
from airflow.models.taskinstance import TaskInstance
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from sqlalchemy import select

with create_session() as session:
    ti = session.scalar(select(TaskInstance).where(TaskInstance.dag_id == "team_a__look_for_keys"))
    xcom = session.scalar(select(XComModel).where(XComModel.dag_id == ti.dag_id, XComModel.key == "return_value"))
    print(json.dumps({"state": ti.state, "hostname": ti.hostname, "look": xcom.value if xcom else None}))
"""


@pytest.mark.parametrize("team", ["team_a", "team_b"])
def test_each_teams_worker_passes_doctor(deployment, team, tmp_path):
    """doctor in the worker's own environment, as its Unix user, processes of the host included: no finding."""
    sandbox = deployment.sandbox
    command = [sys.executable, "-m", "airflow_policies.cli", "doctor", "--component", "worker", "--team", team,
               "--format", "json"]  # fmt: skip
    mounts = Path(tempfile.mkdtemp(prefix="airflow-policies-mounts-"))
    try:
        result = subprocess.run(
            sandbox.as_worker(team, command, mounts), env=sandbox.worker_env(team), capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
    finally:
        shutil.rmtree(mounts, ignore_errors=True)
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert (result.returncode, report["findings"], report["processes_inspected"]) == (0, [], True), result.stderr
    assert report["teams"] == [team]


def test_doctor_finds_what_a_worker_would_hold_if_configured_like_the_scheduler(deployment):
    """The control: the same doctor, on team A's worker given the scheduler's configuration (every bundle, the
    metadata DB, the keys), reports each of them."""
    code, out = _doctor(deployment.sandbox.env, "--component", "worker", "--team", "team_a", "--no-processes")
    assert code == 1
    for check in ("signing_key", "metadata_db", "fernet_key", "foreign_bundles"):
        assert f"ERROR   {check} team_a:" in out, out


def _doctor(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "airflow_policies.cli", "doctor", *args], env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    return result.returncode, result.stdout


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


_INVENTORIES = """
import json
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from sqlalchemy import select

with create_session() as session:
    rows = session.scalars(select(XComModel).where(XComModel.task_id == "first", XComModel.run_id == "proof"))
    print(json.dumps({x.dag_id: x.value for x in rows}, default=str))
"""


def test_foreign_queue_and_global_executor_are_rejected_at_parse_time(deployment):
    """A team A DAG naming team B's queue, or an executor the scheduler resolves to the global one."""
    state = deployment.settled
    errors = {Path(e["file"]).name: e["message"] for e in state["import_errors"] if e["bundle"] == "team_a_dags"}
    assert "queues.foreign_queue" in errors["names_team_b_queue.py"]
    message = errors["names_global_executor.py"]
    assert "executors.global_executor" in message and "executors.foreign_executor" not in message
    assert "global executor 'CeleryExecutor'" in message


def test_the_scheduler_recheck_holds_where_parse_time_checks_were_off(deployment):
    """With the DAG processor's checks off, team A's DAG on team B's queue was persisted: the scheduler
    quarantines its task instance, so it never starts (team B's worker never runs team A's code); the unrouted
    one is routed to team A's queue and runs on team A's worker."""
    foreign = _task_instances(deployment.settled, "team_a__bypass_foreign_queue")["run_on_team_b"]
    assert (foreign["pool"], foreign["started"], foreign["hostname"]) == (QUARANTINE, False, "")
    routed = _task_instances(deployment.settled, "team_a__bypass_default_queue")["run_unrouted"]
    assert (routed["state"], routed["queue"], routed["hostname"]) == ("success", "team_a", "team_a-worker")


def test_the_guard_refuses_a_celery_tasks_cross_team_call(deployment):
    """On team A's worker, reading team B's connection is refused by the API server's guard; team A's own is not."""
    tis = _task_instances(deployment.settled, "team_a__reads_team_b_conn")
    assert (tis["attack"]["state"], tis["control"]["state"]) == ("failed", "success")
    assert tis["attack"]["hostname"] == "team_a-worker"
    refused = [
        d
        for d in deployment.sandbox.decisions("api-server")
        if d.get("outcome") == "rejected" and "connections.foreign_connection" in json.dumps(d)
    ]
    assert refused, "no refusal of the connection read in the API server's decision log"


def test_a_workload_on_the_wrong_teams_worker_is_refused_there(deployment):
    """Team A's quarantined task instance, marked queued and published to team B's broker and queue as a
    misrouting would: team B's worker has no team A bundle, so team A's code is never loaded there and the task
    instance fails. (Airflow lets that worker mark it running first: its hostname is team B's worker's.)"""
    deployment.sandbox.python(_PUBLISH_TO_TEAM_B)
    deployment.sandbox.wait_for(
        lambda state: any(
            ti["dag_id"] == "team_a__bypass_foreign_queue" and ti["state"] in TERMINAL for ti in state["task_instances"]
        ),
        timeout=120,
    )
    ti = _task_instances(deployment.sandbox.state(), "team_a__bypass_foreign_queue")["run_on_team_b"]
    assert (ti["state"], ti["hostname"]) == ("failed", "team_b-worker")
    task_log = next(
        (deployment.sandbox.home / "workers" / "team_b" / "logs").glob("dag_id=team_a__bypass_foreign_queue/**/*.log")
    )
    assert "Requested bundle 'team_a_bypass' is not configured" in task_log.read_text()
    assert "team A code" not in task_log.read_text()


# A workload for team A's quarantined task instance, signed as the scheduler signs it, sent through
# team B's executor's Celery app to team B's queue.
_PUBLISH_TO_TEAM_B = """
from airflow.api_fastapi.auth.tokens import JWTGenerator, get_signing_args
from airflow.configuration import conf
from airflow.executors.base_executor import ExecutorConf
from airflow.executors.workloads import ExecuteTask
from airflow.models.taskinstance import TaskInstance
from airflow.providers.celery.executors.celery_executor_utils import create_celery_app
from airflow.utils.session import create_session
from sqlalchemy import select

with create_session() as session:
    ti = session.scalar(select(TaskInstance).where(TaskInstance.dag_id == "team_a__bypass_foreign_queue"))
    ti.state = "queued"  # as the scheduler marks a task instance it sends
    ti.queue = "team_b"
    session.commit()
    generator = JWTGenerator(
        valid_for=600,
        audience=conf.get_mandatory_list_value("execution_api", "jwt_audience")[0],
        issuer=conf.get("api_auth", "jwt_issuer", fallback=None),
        **get_signing_args(make_secret_key_if_needed=False),
    )
    workload = ExecuteTask.make(ti, generator=generator)
app = create_celery_app(ExecutorConf(team_name="team_b"))
app.send_task("execute_workload", args=[workload.model_dump_json()], queue="team_b")
print("sent")
"""
