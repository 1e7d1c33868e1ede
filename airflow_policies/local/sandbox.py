"""A throw-away multi-team Airflow deployment on this machine, driven through Airflow's own CLI.

Used by the demo and by integration tests: a fresh ``AIRFLOW_HOME`` with ``[core] multi_team`` on, one
local DAG bundle per folder mapped to its team, a SQLite metadata DB (or any ``sql_alchemy_conn``), and
(optionally) the drop-in ``airflow_local_settings.py`` copied to ``$AIRFLOW_HOME/config`` exactly as a
user would. :meth:`AirflowSandbox.serve` runs the API server and the scheduler on loopback, and a triggerer
per team when asked.

Each team gets its own executor: a LocalExecutor by default, or with ``celery_brokers`` a CeleryExecutor on
its own broker, whose tasks run on that team's Celery worker (:meth:`AirflowSandbox.worker_env`): a process
with its own ``AIRFLOW_HOME``, only its team's bundles and broker, and neither the metadata DB's address, the
JWT secret nor the Fernet key, as it would have on a machine of its own. With ``isolated_workers`` each worker
also runs as a Unix user of its own (:mod:`airflow_policies.local.isolation`), so that it cannot read the other
processes of this host either.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import airflow_policies
from airflow_policies._paths import drop_in
from airflow_policies.local.isolation import as_own_user
from airflow_policies.local.net import accepts, free_loopback_port

__all__ = ["WORKER_SECRETS", "AirflowSandbox", "BundleSpec", "UserSpec", "machine_name"]

#: What a Celery worker's process must not hold (it needs none of them: the scheduler signs each task's token).
WORKER_SECRETS = (
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__CORE__FERNET_KEY",
)
#: The Unix user id of the first team's isolated worker; the next team's is one more, and so on.
FIRST_WORKER_UID = 20001
#: The environment variable naming the machine a sandbox process stands for (see :func:`machine_name`).
MACHINE_VARIABLE = "AIRFLOW_POLICIES_SANDBOX_MACHINE"


def machine_name() -> str:
    """``[core] hostname_callable`` of the sandbox's workers: the machine each stands for, else this host's name.

    Every worker of the sandbox runs on this one host; each records the machine it stands for as the
    hostname of the task instances it runs, so a test can tell which team's worker ran a task.
    """
    return os.environ.get(MACHINE_VARIABLE) or socket.getfqdn()


@dataclass(frozen=True)
class UserSpec:
    """A user of Airflow's SimpleAuthManager: role (viewer, user, op, admin), teams and password."""

    role: str
    password: str
    teams: tuple[str, ...] = ()


@dataclass(frozen=True)
class BundleSpec:
    """A local DAG bundle and the team it belongs to (``None``: no team)."""

    name: str
    path: Path
    team: str | None = None


@dataclass
class AirflowSandbox:
    """An isolated Airflow installation rooted at ``home``.

    Args:
        home: the ``AIRFLOW_HOME`` to create (it should be empty).
        bundles: the DAG bundles, each mapped to its team.
        opa_url: the OPA the policy asks.
        install_drop_in: copy ``cluster_policies/airflow_local_settings.py`` into ``home/config``.
        extra_env: more environment (e.g. ``AIRFLOW__...`` overrides).
        database_url: the metadata DB; a SQLite file in ``home`` by default.
        users: SimpleAuthManager users by name (default: Airflow's own ``admin`` with a generated password).
        base_path: the API server's path under ``[api] base_url`` (e.g. ``/airflow``, as behind a reverse proxy);
            tasks then call the Execution API at ``<base_path>/execution/``.
        celery_brokers: Celery mode: the broker (a ``redis://`` URL without database number) of each team's
            CeleryExecutor, and of the global one under ``""``; results go to database 1 of the same server.
        isolated_workers: run each team's Celery worker as its own Unix user (:data:`FIRST_WORKER_UID` on; needs root).
    """

    home: Path
    bundles: list[BundleSpec]
    opa_url: str
    install_drop_in: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    database_url: str | None = None
    api_port: int = field(default_factory=free_loopback_port)
    log_server_port: int = field(default_factory=free_loopback_port)
    users: dict[str, UserSpec] = field(default_factory=dict)
    base_path: str = ""
    celery_brokers: dict[str, str] = field(default_factory=dict)
    isolated_workers: bool = False

    def __post_init__(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if self.users:
            passwords = {name: user.password for name, user in self.users.items()}
            (self.home / "simple_auth_manager_passwords.json").write_text(json.dumps(passwords))
        if self.install_drop_in:
            (self.home / "config").mkdir(exist_ok=True)
            shutil.copy(drop_in(), self.home / "config" / "airflow_local_settings.py")

    @property
    def teams(self) -> list[str]:
        """The teams the bundles name, sorted."""
        return sorted({b.team for b in self.bundles if b.team})

    @property
    def env(self) -> dict[str, str]:
        """The environment every Airflow command of this sandbox runs with."""
        bundle_config = [
            {
                "name": b.name,
                "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": str(b.path)},
                **({"team_name": b.team} if b.team else {}),
            }
            for b in self.bundles
        ]
        executor = "CeleryExecutor" if self.celery_brokers else "LocalExecutor"
        executors = ";".join([executor, *(f"{t}={executor}" for t in self.teams)])
        execution_api = f"{self.url}/execution/"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_POLICIES_"))}
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__MULTI_TEAM": "True",
                "AIRFLOW__CORE__EXECUTOR": executors,
                "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundle_config),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database_url or f"sqlite:///{self.home / 'airflow.db'}",
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
                "AIRFLOW__API__PORT": str(self.api_port),
                **({"AIRFLOW__API__BASE_URL": self.url} if self.base_path else {}),
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.log_server_port),
                "AIRFLOW__API_AUTH__JWT_SECRET": "airflow-policies-sandbox-" + "0" * 40,
                # Fixed, so a copy of the DB is readable by another sandbox (throw-away secrets only).
                "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(hashlib.sha256(b"sandbox").digest()).decode(),
                # A team's executor reads its own section first, so each team is told where the API server is.
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": execution_api,
                **{f"AIRFLOW__{t.upper()}___CORE__EXECUTION_API_SERVER_URL": execution_api for t in self.teams},
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
                # A loaded test machine can keep the API server from answering a task within Airflow's 5 s;
                # a timed-out task is reported failed, which would read as the policy's doing.
                "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
                "AIRFLOW__AIRFLOW_POLICIES__OPA_URL": self.opa_url,
                "AIRFLOW__AIRFLOW_POLICIES__STATE_DIR": str(self.home / "policy-state"),
            }
        )
        for team, broker in self.celery_brokers.items():
            section = f"AIRFLOW__{team.upper()}___CELERY__" if team else "AIRFLOW__CELERY__"
            env[f"{section}BROKER_URL"] = f"{broker}/0"
            env[f"{section}RESULT_BACKEND"] = f"{broker}/1"
        if self.users:
            env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = ",".join(
                ":".join([name, user.role, *(["|".join(user.teams)] if user.teams else [])])
                for name, user in self.users.items()
            )
            env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(
                self.home / "simple_auth_manager_passwords.json"
            )
        env.update(self.extra_env)
        return env

    def worker_env(self, team: str) -> dict[str, str]:
        """The environment of ``team``'s Celery worker: its own ``AIRFLOW_HOME``, its team's bundles and broker
        only, and none of :data:`WORKER_SECRETS` (nor the metadata DB, the global or other teams' brokers)."""
        home = self.home / "workers" / team
        (home / "config").mkdir(parents=True, exist_ok=True)
        if self.install_drop_in:
            shutil.copy(drop_in(), home / "config" / "airflow_local_settings.py")
        # A worker's own airflow.cfg holds nothing: without one, Airflow would write one with generated keys.
        (home / "airflow.cfg").touch()
        own_section = f"AIRFLOW__{team.upper()}___CELERY__"

        def held(name: str) -> bool:
            celery = "___CELERY__" in name or name.startswith("AIRFLOW__CELERY__")
            return name not in WORKER_SECRETS and (not celery or name.startswith(own_section))

        env = {name: value for name, value in self.env.items() if held(name)}
        bundles = json.loads(env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"])
        env.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
                    [b for b in bundles if b.get("team_name") == team]
                ),
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_loopback_port()),
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.machine_name",
                MACHINE_VARIABLE: f"{team}-worker",
                "HOME": str(home),
                "USER": f"airflow-{team}",
                "LOGNAME": f"airflow-{team}",
                "AIRFLOW__AIRFLOW_POLICIES__STATE_DIR": str(home / "policy-state"),
            }
        )
        return env

    @property
    def url(self) -> str:
        """The API server's base URL (UI, REST API, plugins) while :meth:`serve` runs."""
        return f"http://127.0.0.1:{self.api_port}{self.base_path}"

    def token(self, username: str) -> str:
        """A JWT for one of :attr:`users`, from the running API server's own login endpoint."""
        import requests

        response = requests.post(
            f"{self.url}/auth/token",
            json={"username": username, "password": self.users[username].password},
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def airflow(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``airflow <args>`` in the sandbox and return its completed process."""
        airflow_cli = Path(sys.executable).with_name("airflow")
        result = subprocess.run(
            [str(airflow_cli), *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            output = f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            raise RuntimeError(f"airflow {' '.join(args)} exited {result.returncode}:\n{output}")
        return result

    def initialise(self) -> None:
        """Create the metadata DB and the teams the bundles name."""
        self.airflow("db", "migrate")
        for team in self.teams:
            self.airflow("teams", "create", team)

    def python(self, code: str, timeout: float = 300) -> str:
        """Run ``code`` in a Python of the sandbox's environment and return what it printed."""
        result = subprocess.run(
            [sys.executable, "-c", code], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise RuntimeError(f"python in the sandbox exited {result.returncode}:\n{result.stderr[-3000:]}")
        return result.stdout

    @contextmanager
    def serve(
        self,
        env: dict[str, str] | None = None,
        timeout: float = 120,
        triggerer_teams: tuple[str, ...] = (),
        dag_processor: bool = False,
        workers: Mapping[str, Sequence[str]] | None = None,
    ) -> Iterator[None]:
        """Run the API server (on loopback, ``api_port``) and the scheduler until the block ends, a triggerer
        for each of ``triggerer_teams`` (in multi-team mode a triggerer runs one team's triggers), with
        ``dag_processor`` a DAG processor (it parses the bundles again and runs DAG callbacks), and in Celery
        mode a Celery worker for each team of ``workers`` (team -> the queues it consumes), named
        ``worker-<team>``. ``env`` is added to every process's environment.

        Each process logs to ``home/<name>.log`` and writes its decision log to ``home/<name>-decisions.jsonl``.
        """
        if workers and not self.celery_brokers:
            raise ValueError("Celery workers need a sandbox with celery_brokers")
        airflow_cli = str(Path(sys.executable).with_name("airflow"))
        mounts = Path(tempfile.mkdtemp(prefix="airflow-policies-mounts-"))
        commands = {
            "api-server": [airflow_cli, "api-server", "-H", "127.0.0.1", "-p", str(self.api_port)],
            "scheduler": [airflow_cli, "scheduler"],
            **{f"triggerer-{team}": [airflow_cli, "triggerer", "--team-name", team] for team in triggerer_teams},
            **({"dag-processor": [airflow_cli, "dag-processor"]} if dag_processor else {}),
            **{
                f"worker-{team}": self._worker_command(team, queues, mounts) for team, queues in (workers or {}).items()
            },
        }
        # Each triggerer serves its triggers' logs on a port of its own.
        ports = {name: {"AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_loopback_port())} for name in commands}
        processes = []
        try:
            for name, command in commands.items():
                base = self.worker_env(name.removeprefix("worker-")) if name.startswith("worker-") else self.env
                environment = {
                    **base,
                    **ports[name],
                    "AIRFLOW__AIRFLOW_POLICIES__DECISION_LOG": str(self.home / f"{name}-decisions.jsonl"),
                    **(env or {}),
                }
                with (self.home / f"{name}.log").open("w") as log:
                    # A session of its own, so stopping it also stops the workers and log server it starts.
                    processes.append(
                        subprocess.Popen(
                            command, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                        )
                    )
            _wait(lambda: accepts(self.api_port) or any(p.poll() is not None for p in processes), timeout)
            for name, process in zip(commands, processes, strict=True):
                if process.poll() is not None:
                    log_tail = (self.home / f"{name}.log").read_text()[-3000:]
                    raise RuntimeError(f"airflow {name} exited {process.returncode}:\n{log_tail}")
            yield
        finally:
            for process in processes:
                _signal_group(process, signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    _signal_group(process, signal.SIGKILL)
                    process.wait()
                # Children outliving their parent (LocalExecutor workers, serve-logs) are stopped too.
                _signal_group(process, signal.SIGKILL)
            shutil.rmtree(mounts, ignore_errors=True)

    def worker_uid(self, team: str) -> int:
        """The Unix user id ``team``'s isolated worker runs as."""
        return FIRST_WORKER_UID + self.teams.index(team)

    def _worker_command(self, team: str, queues: Sequence[str], mounts: Path) -> list[str]:
        airflow_cli = str(Path(sys.executable).with_name("airflow"))
        worker = [airflow_cli, "celery", "worker", "--team", team, "--queues", ",".join(queues)]
        command = [*worker, "--concurrency", "2", "--celery-hostname", f"{team}@%h", "--skip-serve-logs"]
        return self.as_worker(team, command, mounts) if self.isolated_workers else command

    def as_worker(self, team: str, command: Sequence[str], mounts: Path) -> list[str]:
        """``command`` as ``team``'s isolated worker runs: its Unix user, reaching only its Python, this package,
        its home and its team's bundles (``mounts``: an empty directory outside the sandbox's home)."""
        home, uid = self.home / "workers" / team, self.worker_uid(team)
        self.worker_env(team)  # creates the home
        for path in [home, *home.rglob("*")]:
            os.chown(path, uid, uid)
        code = Path(airflow_policies.__file__).resolve().parent
        needs = [Path(sys.prefix), Path(sys.base_prefix), code, home, *(b.path for b in self.bundles if b.team == team)]
        return as_own_user(command, uid, needs, mounts / team)

    def decisions(self, name: str) -> list[dict[str, Any]]:
        """The decision-log records one process of :meth:`serve` (``api-server``, ``scheduler``, ...) wrote."""
        path = self.home / f"{name}-decisions.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def wait_for(self, done: Callable[[dict[str, Any]], bool], timeout: float = 180) -> dict[str, Any]:
        """Poll :meth:`state` until ``done(state)``; the last state is returned, or TimeoutError raised."""
        states: list[dict[str, Any]] = []

        def check() -> bool:
            states.append(self.state())
            return done(states[-1])

        _wait(check, timeout, interval=2)
        return states[-1]

    def state(self) -> dict[str, Any]:
        """What Airflow recorded in its DB: DAGs (with their tasks' routing), import errors, DAG warnings."""
        result = subprocess.run(
            [sys.executable, "-c", "from airflow_policies.local.sandbox import _print_state; _print_state()"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"reading the sandbox DB failed:\n{result.stderr[-3000:]}")
        state: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        return state


def _print_state() -> None:
    """Print the sandbox DB's DAGs and import errors as one JSON line (runs inside the sandbox env)."""
    from airflow.models.dag import DagModel
    from airflow.models.dagwarning import DagWarning
    from airflow.models.errors import ParseImportError
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        dags = {}
        for model in session.scalars(select(DagModel)):
            serialized = SerializedDagModel.get(model.dag_id, session=session)
            tasks = {}
            tags: list[str] = []
            if serialized is not None:
                dag = serialized.dag
                tags = sorted(dag.tags)
                tasks = {t.task_id: {"queue": t.queue, "pool": t.pool} for t in dag.tasks}
            dags[model.dag_id] = {
                "bundle": model.bundle_name,
                "fileloc": model.relative_fileloc,
                "stale": bool(model.is_stale),
                "paused": bool(model.is_paused),
                "has_import_errors": bool(model.has_import_errors),
                "tags": tags,
                "tasks": tasks,
            }
        errors = [
            {"bundle": e.bundle_name, "file": e.filename, "message": e.stacktrace}
            for e in session.scalars(select(ParseImportError))
        ]
        warnings = [
            {"dag_id": w.dag_id, "warning_type": w.warning_type, "message": w.message}
            for w in session.scalars(select(DagWarning))
        ]
        task_instances = [
            {
                "dag_id": ti.dag_id,
                "task_id": ti.task_id,
                "run_id": ti.run_id,
                "state": ti.state,
                "pool": ti.pool,
                "queue": ti.queue,
                "executor": ti.executor,
                "hostname": ti.hostname,
                "started": ti.start_date is not None,
            }
            for ti in session.scalars(select(TaskInstance))
        ]
    print(
        json.dumps(
            {"dags": dags, "import_errors": errors, "dag_warnings": warnings, "task_instances": task_instances},
            default=str,
        )
    )


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _wait(condition: Callable[[], bool], timeout: float, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not done within {timeout:.0f}s")
        time.sleep(interval)
