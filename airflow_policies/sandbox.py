"""A throw-away multi-team Airflow deployment on this machine, driven through Airflow's own CLI.

Used by the demo and by integration tests: a fresh ``AIRFLOW_HOME`` with ``[core] multi_team`` on, one
local DAG bundle per folder mapped to its team, a SQLite metadata DB, and (optionally) the drop-in
``airflow_local_settings.py`` copied to ``$AIRFLOW_HOME/config`` exactly as a user would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_policies._paths import drop_in

__all__ = ["AirflowSandbox", "BundleSpec"]


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
    """

    home: Path
    bundles: list[BundleSpec]
    opa_url: str
    install_drop_in: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
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
        executors = ";".join(["LocalExecutor", *(f"{t}=LocalExecutor" for t in self.teams)])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_POLICIES_"))}
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__MULTI_TEAM": "True",
                "AIRFLOW__CORE__EXECUTOR": executors,
                "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundle_config),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
                "AIRFLOW_POLICIES_OPA_URL": self.opa_url,
                "AIRFLOW_POLICIES_STATE_DIR": str(self.home / "policy-state"),
            }
        )
        env.update(self.extra_env)
        return env

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

    def state(self) -> dict[str, Any]:
        """What Airflow recorded in its DB: DAGs (with their tasks' routing), import errors, DAG warnings."""
        result = subprocess.run(
            [sys.executable, "-c", "from airflow_policies.sandbox import _print_state; _print_state()"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"reading the sandbox DB failed:\n{result.stderr[-3000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])


def _print_state() -> None:
    """Print the sandbox DB's DAGs and import errors as one JSON line (runs inside the sandbox env)."""
    from airflow.models.dag import DagModel
    from airflow.models.dagwarning import DagWarning
    from airflow.models.errors import ParseImportError
    from airflow.models.serialized_dag import SerializedDagModel
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
    print(json.dumps({"dags": dags, "import_errors": errors, "dag_warnings": warnings}))
