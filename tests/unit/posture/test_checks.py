"""The posture checks on a described deployment: each way team code could act as another team, found where it
is, never printing the secret, and nothing found where the component holds nothing it should not."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from airflow_policies.document.models import ExecutorInfo
from airflow_policies.posture import sources
from airflow_policies.posture.checks import Deployment, inspect, teams_running_code

CELERY = ["CeleryExecutor", "airflow.providers.celery.executors.celery_executor.CeleryExecutor"]
LOCAL = ["LocalExecutor", "airflow.executors.local_executor.LocalExecutor"]
#: Per-team CeleryExecutors, a global LocalExecutor for teamless DAGs, two teams' bundles.
RECOMMENDED = Deployment(
    multi_team=True,
    bundles={"team_a_dags": "team_a", "team_b_dags": "team_b", "shared": None},
    executors=[
        ExecutorInfo(team=None, names=LOCAL),
        ExecutorInfo(team="team_a", names=CELERY),
        ExecutorInfo(team="team_b", names=CELERY),
    ],
    local_executor=True,
    disabled_points=frozenset({"worker"}),
    policy_loaded=True,
)
SECRET = "s3cr3t-value-that-must-never-be-printed"


@pytest.fixture(autouse=True)
def component_env(monkeypatch, tmp_path):
    """An environment holding nothing: no secret variable, an empty airflow.cfg, results on the teams' Redis."""
    for name in list(os.environ):
        if sources.secret_variable(name) or name.startswith("AIRFLOW__SECRETS__"):
            monkeypatch.delenv(name)
    # Empty, not unset: the test process's own airflow.cfg has generated keys.
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "")
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", "")
    monkeypatch.setenv("AIRFLOW__TEAM_A___CELERY__RESULT_BACKEND", "redis://:pw@team-a-redis/1")
    monkeypatch.setenv("AIRFLOW__TEAM_B___CELERY__RESULT_BACKEND", "redis://:pw@team-b-redis/1")
    config = tmp_path / "airflow.cfg"
    config.write_text("[core]\nload_examples = False\n")
    monkeypatch.setattr(sources, "config_file", lambda: config)
    return config


def _checks(report) -> set[tuple[str, str | None]]:
    return {(f.check, f.team) for f in report.findings}


def test_a_team_worker_of_the_recommended_deployment_has_no_finding():
    report = inspect("worker", dataclasses.replace(RECOMMENDED, bundles={"team_a_dags": "team_a"}), team="team_a",
                     processes=False)  # fmt: skip
    assert report.findings == [] and not report.failed
    assert report.teams == ["team_a"]


@pytest.mark.parametrize(
    ("check", "section", "key"),
    [("metadata_db", "database", "sql_alchemy_conn"), ("signing_key", "api_auth", "jwt_secret"),
     ("signing_key", "api_auth", "jwt_private_key_path"), ("fernet_key", "core", "fernet_key")],
)  # fmt: skip
@pytest.mark.parametrize("variant", ["", "_cmd", "_secret"])
@pytest.mark.parametrize("place", ["environment", "airflow.cfg"])
def test_each_secret_is_found_in_every_place_airflow_reads_it_from(
    monkeypatch, component_env, check, section, key, variant, place
):
    if place == "environment":
        where = f"AIRFLOW__{section.upper()}__{key.upper()}{variant.upper()}"
        monkeypatch.setenv(where, SECRET)
    else:
        where = f"{component_env} [{section}] {key}{variant}"
        component_env.write_text(f"[{section}]\n{key}{variant} = {SECRET}\n")
    report = inspect("worker", RECOMMENDED, team="team_a", processes=False)
    (finding,) = [f for f in report.findings if f.check == check]
    assert (finding.team, finding.severity, finding.evidence) == ("team_a", "error", [where])
    assert report.failed
    assert SECRET not in report.model_dump_json()


def test_the_dag_processor_and_triggerer_need_the_db_so_it_is_a_risk_to_accept_and_confine(monkeypatch):
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", SECRET)
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", SECRET)
    own = dataclasses.replace(RECOMMENDED, bundles={"team_a_dags": "team_a"})
    for component, scope in (("dag-processor", {}), ("triggerer", {"team": "team_a"})):
        report = inspect(component, own, processes=False, **scope)
        found = {f.check: f for f in report.findings}
        assert set(found) == {"metadata_db", "fernet_key"}, component
        assert all(f.remedy == "accept" and f.team == "team_a" for f in found.values())
        assert "own Unix user, container or host" in found["metadata_db"].fix


def test_one_dag_processor_for_every_team_shares_its_processes_between_them():
    report = inspect("dag-processor", RECOMMENDED, processes=False)
    assert report.teams == ["team_a", "team_b"]
    bundles = {f.team: f.evidence for f in report.findings if f.check == "foreign_bundles"}
    assert bundles == {
        "team_a": ["[dag_processor] dag_bundle_config_list: team_b_dags (team_b)"],
        "team_b": ["[dag_processor] dag_bundle_config_list: team_a_dags (team_a)"],
    }
    # --team does not narrow a DAG processor: the bundles it parses do.
    assert inspect("dag-processor", RECOMMENDED, team="team_a", processes=False).teams == ["team_a", "team_b"]
    assert inspect("dag-processor", RECOMMENDED, bundles=["team_a_dags"], processes=False).findings == []


def test_a_worker_configured_with_another_teams_bundle():
    report = inspect("worker", RECOMMENDED, team="team_a", processes=False)
    assert _checks(report) == {("foreign_bundles", "team_a")}


def test_the_scheduler_runs_local_executor_tasks_of_teams_without_workers(monkeypatch):
    """Team B has no executor of its own, so its tasks get the global LocalExecutor: children of the scheduler."""
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", SECRET)
    executors = [e for e in RECOMMENDED.executors if e.team != "team_b"]
    deployment = dataclasses.replace(RECOMMENDED, executors=executors)
    assert teams_running_code("scheduler", deployment) == ["team_b"]
    report = inspect("scheduler", deployment, processes=False)
    assert _checks(report) == {
        ("signing_key", "team_b"),  # the LocalExecutor hands its tasks the scheduler's signing configuration
        ("metadata_db", "team_b"),
        ("global_executor", "team_b"),
    }
    assert {f.severity for f in report.findings if f.check == "global_executor"} == {"warning"}
    assert all("executor of its own" in f.fix for f in report.findings if f.check != "global_executor")
    assert inspect("scheduler", RECOMMENDED, processes=False).findings == []


def test_a_celery_result_backend_on_a_database(monkeypatch):
    monkeypatch.delenv("AIRFLOW__TEAM_A___CELERY__RESULT_BACKEND")
    monkeypatch.setenv("AIRFLOW__TEAM_B___CELERY__RESULT_BACKEND", f"db+postgresql://airflow:{SECRET}@db/airflow")
    worker = inspect("worker", dataclasses.replace(RECOMMENDED, bundles={}), team="team_a", processes=False)
    assert [(f.check, f.evidence) for f in worker.findings] == [
        ("result_backend", ["AIRFLOW__TEAM_A___CELERY__RESULT_BACKEND = (unset)"])
    ]
    scheduler = inspect("scheduler", RECOMMENDED, processes=False)
    assert _checks(scheduler) == {("result_backend", "team_a"), ("result_backend", "team_b")}
    assert SECRET not in scheduler.model_dump_json()


def test_other_teams_connections_and_variables_in_the_environment(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN__TEAM_B___WAREHOUSE", SECRET)
    monkeypatch.setenv("AIRFLOW_VAR__TEAM_B___TOKEN", SECRET)
    monkeypatch.setenv("AIRFLOW_CONN__TEAM_A___OWN", SECRET)
    monkeypatch.setenv("AIRFLOW_CONN_SHARED", SECRET)
    worker = inspect("worker", dataclasses.replace(RECOMMENDED, bundles={}), team="team_a", processes=False)
    (finding,) = worker.findings  # the teamless one is not another team's in a single-team process
    assert (finding.check, finding.evidence) == (
        "foreign_secrets",
        ["AIRFLOW_CONN__TEAM_B___WAREHOUSE", "AIRFLOW_VAR__TEAM_B___TOKEN"],
    )
    processor = inspect("dag-processor", dataclasses.replace(RECOMMENDED, bundles={"a": "team_a", "b": "team_b"}),
                        processes=False)  # fmt: skip
    teamless = [f for f in processor.findings if f.check == "foreign_secrets" and f.severity == "warning"]
    assert {f.team for f in teamless} == {"team_a", "team_b"}
    assert all(f.evidence == ["AIRFLOW_CONN_SHARED"] for f in teamless)


def test_one_secrets_backend_serving_several_teams(monkeypatch):
    monkeypatch.setenv("AIRFLOW__SECRETS__BACKEND", "airflow.providers.hashicorp.secrets.vault.VaultBackend")
    assert (
        inspect("worker", dataclasses.replace(RECOMMENDED, bundles={}), team="team_a", processes=False).findings == []
    )
    processor = inspect("dag-processor", RECOMMENDED, processes=False)
    assert [f.team for f in processor.findings if f.check == "foreign_secrets"] == [None]


@pytest.mark.parametrize(
    ("apps", "guard_installed", "disabled", "found"),
    [
        (None, None, frozenset(), False),
        ("all", True, frozenset(), False),
        ("core,execution", None, frozenset(), False),
        ("core", None, frozenset({"execution_api"}), True),
        ("execution", None, frozenset(), True),
        ("all", False, frozenset(), True),
    ],
)
def test_an_api_server_serving_the_execution_api_without_the_guard(apps, guard_installed, disabled, found):
    deployment = dataclasses.replace(RECOMMENDED, disabled_points=disabled, guard_installed=guard_installed)
    report = inspect("api-server", deployment, apps=apps, processes=False)
    assert _checks(report) == ({("guard_missing", None)} if found else set())
    assert report.teams == []


def test_a_component_without_the_policy_or_with_its_point_off():
    unloaded = inspect("scheduler", dataclasses.replace(RECOMMENDED, policy_loaded=False), processes=False)
    assert [f.evidence for f in unloaded.findings] == [
        ["Airflow's policy plugin manager holds no airflow_policies dag_policy"]
    ]
    off = dataclasses.replace(RECOMMENDED, bundles={}, disabled_points=frozenset({"worker", "triggerer"}))
    assert _checks(inspect("triggerer", off, team="team_a", processes=False)) == {("policy_not_loaded", None)}
    # The worker's re-parse is off by default (DAG code runs before it): that is no finding.
    assert (
        inspect("worker", dataclasses.replace(RECOMMENDED, bundles={}), team="team_a", processes=False).findings == []
    )


def test_multi_team_off_while_bundles_name_teams():
    off = dataclasses.replace(RECOMMENDED, multi_team=False, executors=[])
    report = inspect("api-server", off, processes=False)
    assert [(f.check, f.evidence) for f in report.findings] == [
        ("multi_team_off", ["[dag_processor] dag_bundle_config_list: team_a_dags (team_a)",
                            "[dag_processor] dag_bundle_config_list: team_b_dags (team_b)"])
    ]  # fmt: skip


def test_the_report_is_json_with_its_findings_and_says_whether_processes_were_read(monkeypatch):
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", SECRET)
    report = inspect("worker", dataclasses.replace(RECOMMENDED, bundles={}), team="team_a", processes=False)
    document = json.loads(report.model_dump_json())
    assert document["event"] == "airflow_policies.posture" and document["processes_inspected"] is False
    assert [f["check"] for f in document["findings"]] == ["metadata_db"]
    assert report.findings[0].line().startswith("[metadata_db] worker/team_a: team_a's code in the worker can read")


def test_a_worker_needs_the_policy_only_where_its_point_is_on():
    unloaded = dataclasses.replace(RECOMMENDED, bundles={}, policy_loaded=False)
    assert inspect("worker", unloaded, team="team_a", processes=False).findings == []  # worker point off (default)
    on = dataclasses.replace(unloaded, disabled_points=frozenset())
    assert _checks(inspect("worker", on, team="team_a", processes=False)) == {("policy_not_loaded", None)}


def test_airflows_placeholder_for_the_blocked_db_address_is_no_secret(monkeypatch, component_env):
    """What Airflow's task supervisor writes in place of the DB address (block_orm_access) holds nothing."""
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "airflow-db-not-allowed:///")
    component_env.write_text(
        "[database]\nsql_alchemy_conn_cmd = /bin/false\nsql_alchemy_conn_secret = db-access-blocked\n"
    )
    report = inspect("worker", dataclasses.replace(RECOMMENDED, bundles={}), team="team_a", processes=False)
    assert report.findings == []


def test_another_process_of_the_host_holding_a_secret(monkeypatch):
    """Read as the component would: a neighbour (same Unix user) holding the DB address is a finding, by pid and
    variable name, that only a Unix user of its own removes; with processes=False it is not looked for."""
    import subprocess
    import sys
    import time

    env = {"PATH": os.environ["PATH"], "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": SECRET}
    neighbour = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env)
    time.sleep(0.2)
    deployment = dataclasses.replace(RECOMMENDED, bundles={})
    try:
        report = inspect("worker", deployment, team="team_a")
        skipped = inspect("worker", deployment, team="team_a", processes=False)
    finally:
        neighbour.kill()
        neighbour.wait()
    (finding,) = [f for f in report.findings if f.check == "other_processes"]
    assert finding.remedy == "isolate" and report.processes_inspected
    (evidence,) = [e for e in finding.evidence if e.startswith(f"/proc/{neighbour.pid}/environ (")]
    assert evidence.endswith("): AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    assert SECRET not in report.model_dump_json()
    assert skipped.findings == []
    bundles = inspect("dag-processor", RECOMMENDED, processes=False).findings
    assert {f.remedy for f in bundles if f.check == "foreign_bundles"} == {"isolate"}


def test_global_executors_the_registry_opens_to_every_team():
    """Named in global.executors and configured globally: a warning; a name [core] executor has not: nothing."""
    opened = dataclasses.replace(RECOMMENDED, opened_global_executors=("LocalExecutor", "KubernetesExecutor"))
    (finding,) = inspect("scheduler", opened, processes=False).findings
    assert (finding.check, finding.team, finding.severity) == ("global_executor", None, "warning")
    assert finding.evidence == ["registry global.executors: LocalExecutor"]
    assert inspect("scheduler", RECOMMENDED, processes=False).findings == []
