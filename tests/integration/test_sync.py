"""`airflow-policies sync` against a real metadata DB (SQLite and a real PostgreSQL), populated through
Airflow's own CLI (pools) and models (connections and variables with a team, which the CLI cannot set)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
import yaml

from airflow_policies.local.opa_server import local_opa
from airflow_policies.local.postgres_server import local_postgres
from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec
from tests.conftest import EXAMPLE_DAGS, EXAMPLE_REGISTRY

_POPULATE = """
from airflow.models.connection import Connection
from airflow.models.variable import Variable
from airflow.utils.session import create_session

with create_session() as session:
    session.add(Connection(conn_id="team_a_lake", conn_type="http", host="lake", team_name="team_a"))
    session.add(Connection(conn_id="team_b_crm", conn_type="http", host="crm", team_name="team_b"))
    session.add(Connection(conn_id="team_b_warehouse", conn_type="postgres", host="wh"))
Variable.set("team_b_region", "eu", team_name="team_b")
Variable.set("company_name", "acme")
"""

_CONFLICT = """
from airflow.models.connection import Connection
from airflow.utils.session import create_session

with create_session() as session:
    session.add(Connection(conn_id="team_a_postgres", conn_type="postgres", host="pg", team_name="team_b"))
"""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def sandbox(request, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowSandbox]:
    with local_postgres() if request.param == "postgresql" else contextlib.nullcontext() as database_url:
        sandbox = AirflowSandbox(
            home=tmp_path_factory.mktemp(f"sync-{request.param}"),
            bundles=[
                BundleSpec("team_a_dags", EXAMPLE_DAGS / "team_a", "team_a"),
                BundleSpec("team_b_dags", EXAMPLE_DAGS / "team_b", "team_b"),
            ],
            opa_url="http://127.0.0.1:9",
            database_url=database_url,
            install_drop_in=False,
        )
        sandbox.initialise()
        sandbox.airflow("pools", "set", "team_b_spark", "8", "team B's Spark slots", "--team-name", "team_b")
        _python(sandbox, _POPULATE)
        yield sandbox


def _python(sandbox: AirflowSandbox, code: str) -> None:
    result = subprocess.run([sys.executable, "-c", code], env=sandbox.env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]


def _sync(sandbox: AirflowSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "airflow_policies.cli", "sync", "--registry", str(EXAMPLE_REGISTRY), *args]
    return subprocess.run(command, env=sandbox.env, capture_output=True, text=True, timeout=120)


def test_sync_merges_what_airflow_knows(sandbox, tmp_path):
    """Team-owned connections, variables and pools go to their team, teamless ones to global, each team's
    executors from [core] executor; the hand-written parts stay; team_b_warehouse stays team B's."""
    output = tmp_path / "registry.yaml"
    result = _sync(sandbox, "--output", str(output))
    assert result.returncode == 0, result.stderr
    merged = yaml.safe_load(output.read_text())
    team_a, team_b = merged["teams"]["team_a"], merged["teams"]["team_b"]
    assert "team_a_lake" in team_a["connections"] and "team_b_crm" in team_b["connections"]
    assert "team_b_region" in team_b["variables"] and "company_name" in merged["global"]["variables"]
    assert "team_b_spark" in team_b["pools"] and "default_pool" in merged["global"]["pools"]
    assert "LocalExecutor" in team_a["executors"]
    assert team_a["dag_id_prefixes"] == ["team_a__"] and merged["shares"][0]["owner"] == "team_b"
    assert "team_b_warehouse" in team_b["connections"] and "team_b_warehouse" not in merged["global"]["connections"]
    assert "connection 'team_b_warehouse' has no team in Airflow; the registry keeps it to team_b" in result.stderr


def test_the_synced_registry_admits_what_airflow_gave_the_team(sandbox, tmp_path):
    """A team A DAG using team A's Airflow-owned connection: rejected by the hand registry, admitted after sync."""
    merged = tmp_path / "registry.yaml"
    assert _sync(sandbox, "--output", str(merged)).returncode == 0
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "lake.py").write_text(
        textwrap.dedent(
            """
            import pendulum
            from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
            from airflow.sdk import DAG

            with DAG("team_a__lake", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
                SQLExecuteQueryOperator(task_id="q", conn_id="team_a_lake", sql="select 1")
            """
        )
    )
    outcomes = {}
    for name, registry in (("hand", EXAMPLE_REGISTRY), ("synced", merged)):
        command = [sys.executable, "-m", "airflow_policies.cli", "check", str(dags), "--bundle", "team_a_dags",
                   "--team", "team_a", "--registry", str(registry)]  # fmt: skip
        outcomes[name] = subprocess.run(command, capture_output=True, text=True, timeout=120).returncode
    assert outcomes == {"hand": 1, "synced": 0}


def test_dry_run_shows_the_diff_against_what_opa_holds(sandbox):
    with local_opa(EXAMPLE_REGISTRY) as url:
        result = _sync(sandbox, "--dry-run", "--opa-url", url)
    assert result.returncode == 0, result.stderr
    assert '+ teams.team_a.connections: "team_a_lake"' in result.stdout.splitlines()
    assert not any(line.startswith("- ") for line in result.stdout.splitlines())


def test_dry_run_with_opa_down_says_so(sandbox):
    result = _sync(sandbox, "--dry-run", "--opa-url", "http://127.0.0.1:9")
    assert result.returncode == 2
    assert "cannot read the registry OPA at http://127.0.0.1:9 holds" in result.stderr


def test_a_conflict_fails_and_writes_nothing(sandbox, tmp_path):
    """Run last: Airflow now gives team_a_postgres to team B while the registry says team A."""
    _python(sandbox, _CONFLICT)
    output = tmp_path / "registry.yaml"
    result = _sync(sandbox, "--output", str(output))
    assert result.returncode == 1
    assert not output.exists()
    assert (
        "connection 'team_a_postgres': Airflow gives it to team 'team_b', the registry to team 'team_a'"
        in result.stderr
    )
