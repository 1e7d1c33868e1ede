"""`airflow-policies audit` over a real metadata DB, SQLite and a real PostgreSQL (started by the project's
own scripts): every serialized DAG is decided with its bundle's team from the DB, against the current
rules or a candidate rule directory, with `--pause-violating` pausing what is rejected."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_policies.local.postgres_server import local_postgres
from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec
from tests.conftest import EXAMPLE_DAGS, EXAMPLE_REGISTRY, REPO

LAYERS = Path(__file__).resolve().parent / "layers"
CANDIDATE_RULE = """# METADATA
# title: DAG owned by the default owner
# description: Every DAG must name a real owner.
# custom:
#   id: owners.named_owner
#   remediation: Set owner in default_args to your team's on-call alias.
#   severity: low
#   action: deny
package airflow_policies.rules.owners.named_owner

import data.airflow_policies.lib.result

violation contains result.violation(rego.metadata.chain(), null, "the DAG's owner is 'airflow'", {}) if {
	input.dag.owner == "airflow"
}
"""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def deployment(request, opa_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowSandbox]:
    """Two teams' bundles parsed into the DB, the tamper DAG among them (the manager re-check switched off)."""
    with local_postgres() if request.param == "postgresql" else contextlib.nullcontext() as database_url:
        sandbox = AirflowSandbox(
            home=tmp_path_factory.mktemp(f"audit-{request.param}"),
            bundles=[
                BundleSpec("team_a_dags", LAYERS / "team_a", "team_a"),
                BundleSpec("team_b_dags", EXAMPLE_DAGS / "team_b", "team_b"),
            ],
            opa_url=opa_url,
            database_url=database_url,
        )
        sandbox.extra_env["AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS"] = '["dag_processor_manager"]'
        sandbox.initialise()
        sandbox.airflow("dag-processor", "--num-runs", "1", timeout=240)
        sandbox.extra_env.pop("AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS")
        yield sandbox


def _audit(sandbox: AirflowSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airflow_policies.cli", "audit", *args],
        env=sandbox.env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _outcomes(report: dict) -> dict[str, tuple[str, str | None, list[str]]]:
    def denied(dag: dict) -> list[str]:
        return sorted(v["rule"] for v in dag["violations"] if v["action"] == "deny")

    dags = [dag for file in report["files"] for dag in file["dags"]]
    return {dag["dag_id"]: (dag["outcome"], dag["team"], denied(dag)) for dag in dags}


def test_audit_finds_the_dag_that_slipped_past_parse_time(deployment):
    """Every DAG in the DB is decided with its own bundle's team; the tamper DAG is rejected, exit 1."""
    result = _audit(deployment, "--format", "json")
    assert result.returncode == 1, result.stderr
    outcomes = _outcomes(json.loads(result.stdout))
    assert outcomes["team_a__tamper"] == (
        "rejected",
        "team_a",
        ["connections.foreign_connection", "queues.foreign_queue"],
    )
    assert outcomes["team_a__allowed"][:2] == ("admitted", "team_a")
    assert outcomes["team_b__publish"][:2] == ("admitted", "team_b")
    files = {file["file"] for file in json.loads(result.stdout)["files"]}
    assert str(LAYERS / "team_a" / "tamper.py") in files


def test_a_candidate_rule_directory_previews_what_it_would_break(deployment, tmp_path):
    """With a new rule in a copy of the library, audit shows which admitted DAGs it would reject."""
    candidate = tmp_path / "rego"
    shutil.copytree(REPO / "rego", candidate)
    rule = candidate / "airflow_policies" / "rules" / "owners" / "named_owner"
    rule.mkdir(parents=True)
    (rule / "policy.rego").write_text(CANDIDATE_RULE)
    result = _audit(deployment, "--rego", str(candidate), "--registry", str(EXAMPLE_REGISTRY), "--format", "json")
    outcomes = _outcomes(json.loads(result.stdout))
    assert outcomes["team_a__allowed"] == ("rejected", "team_a", ["owners.named_owner"])
    assert "owners.named_owner" in outcomes["team_a__tamper"][2]


def test_formats_and_progress(deployment):
    """The CI formats of `check` work for audit: GitHub annotations point at the DAG file and its task."""
    result = _audit(deployment, "--format", "github")
    tamper = str(LAYERS / "team_a" / "tamper.py")
    assert f"::error file={tamper},line=" in result.stdout
    assert "queues.foreign_queue" in result.stdout


def test_opa_down_fails_closed_and_pauses_nothing(deployment):
    """With OPA unreachable every DAG is undecidable (exit 1), and --pause-violating pauses none of them."""
    result = _audit(deployment, "--opa-url", "http://127.0.0.1:9", "--format", "json", "--pause-violating")
    assert result.returncode == 1
    assert {o for o, _, _ in _outcomes(json.loads(result.stdout)).values()} == {"failed_closed"}
    assert "paused 0 rejected DAGs" in result.stderr
    assert not any(dag["paused"] for dag in deployment.state()["dags"].values())


def test_pause_violating_pauses_the_rejected_dags_only(deployment):
    """Run last: it changes the DB. Only the rejected DAG is paused, through Airflow's DagModel."""
    result = _audit(deployment, "--pause-violating")
    assert result.returncode == 1
    assert "paused 1 rejected DAGs: team_a__tamper" in result.stderr
    paused = {dag_id for dag_id, dag in deployment.state()["dags"].items() if dag["paused"]}
    assert paused == {"team_a__tamper"}
    assert "REJECTED" in result.stdout and "team_a__tamper" in result.stdout
