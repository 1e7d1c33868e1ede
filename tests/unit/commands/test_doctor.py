"""``airflow-policies doctor`` as a platform engineer runs it: in a component's environment, or pointed at one."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from airflow_policies.cli import main
from airflow_policies.posture import sources
from airflow_policies.posture.models import CHECKS

SECRET = "postgresql://airflow:hunter2@db/airflow"


@pytest.fixture(autouse=True)
def _policy_loaded(_without_policy_plugin):
    """The policy loaded, as in a component where the package is installed (unit tests unload it)."""
    from airflow import settings

    from airflow_policies.enforcement import cluster_policies

    manager = settings.get_policy_plugin_manager()
    manager.register(cluster_policies, name="airflow_policies")
    yield
    manager.unregister(name="airflow_policies")


@pytest.fixture(autouse=True)
def clean_component(monkeypatch, tmp_path):
    """This process as a component holding nothing (the test process's own airflow.cfg has generated keys)."""
    for name in list(os.environ):
        if sources.secret_variable(name):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "")
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", "")
    config = tmp_path / "airflow.cfg"
    config.write_text("")
    monkeypatch.setattr(sources, "config_file", lambda: config)


def test_a_clean_worker_exits_0(capsys):
    assert main(["doctor", "--component", "worker", "--team", "team_a", "--no-processes"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("airflow-policies doctor: worker (team_a) on ") and "0 error(s), 0 warning(s)" in out
    assert "the other processes of the host were not read" in out


def test_an_error_finding_exits_1_and_names_the_place_and_fix_not_the_value(monkeypatch, capsys):
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", SECRET)
    assert main(["doctor", "--component", "worker", "--team", "team_a", "--no-processes"]) == 1
    out = capsys.readouterr().out
    assert "ERROR   metadata_db team_a: team_a's code in the worker can read the metadata DB's address" in out
    assert "    found: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" in out and "    fix:   remove [database]" in out
    assert "hunter2" not in out


def test_json_and_sarif(monkeypatch, capsys):
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", "a-fernet-key-value")
    assert main(["doctor", "--component", "triggerer", "--team", "team_a", "--format", "json", "--no-processes"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(f["check"], f["remedy"]) for f in report["findings"]] == [("fernet_key", "accept")]
    assert main(["doctor", "--component", "triggerer", "--team", "team_a", "--format", "sarif", "--no-processes"]) == 1
    (run,) = json.loads(capsys.readouterr().out)["runs"]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == list(CHECKS)
    (result,) = run["results"]
    assert (result["ruleId"], result["level"]) == ("fernet_key", "error")
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "fernet_key"
    assert result["locations"][0]["logicalLocations"][0]["name"] == "triggerer/team_a"
    assert "a-fernet-key-value" not in json.dumps(run)


def test_warnings_alone_exit_0(monkeypatch, capsys):
    monkeypatch.setenv("AIRFLOW__CORE__MULTI_TEAM", "True")
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
    bundles = [{"name": "a", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": "/tmp"}, "team_name": "team_a"}]  # fmt: skip
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
    from airflow_policies.document.builder import forget_loaded_executors

    forget_loaded_executors()
    try:
        code = main(["doctor", "--component", "api-server", "--format", "json", "--no-processes"])
    finally:
        forget_loaded_executors()
    assert code == 0 and json.loads(capsys.readouterr().out)["findings"] == []


def _doctor(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airflow_policies.cli", "doctor", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_pointed_at_a_components_configuration(tmp_path):
    """--airflow-home and --env-file: the component's airflow.cfg and environment, and nothing of this one."""
    home = tmp_path / "worker-home"
    home.mkdir()
    (home / "airflow.cfg").write_text("[core]\nfernet_key = a-key-in-the-file\n")
    env_file = tmp_path / "worker.env"
    env_file.write_text("# the worker's unit\nexport AIRFLOW__API_AUTH__JWT_SECRET='signing'\n\n")
    # This environment's DB address is not the component's: it must not count.
    ours = {**os.environ, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path}/ours.db"}
    result = _doctor("--component", "worker", "--team", "team_a", "--format", "json",
                     "--airflow-home", str(home), "--env-file", str(env_file), env=ours)  # fmt: skip
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert result.returncode == 1 and report["processes_inspected"] is False
    assert {f["check"]: f["evidence"] for f in report["findings"]} == {
        "signing_key": ["AIRFLOW__API_AUTH__JWT_SECRET"],
        "fernet_key": [f"{home.resolve()}/airflow.cfg [core] fernet_key"],
    }
    assert list(home.iterdir()) == [home / "airflow.cfg"]


def test_pointing_at_nothing_usable_is_a_configuration_error(tmp_path, capsys):
    empty = tmp_path / "empty-home"
    empty.mkdir()
    assert main(["doctor", "--component", "worker", "--airflow-home", str(empty)]) == 2
    assert "holds no airflow.cfg" in capsys.readouterr().err
    bad = tmp_path / "bad.env"
    bad.write_text("NOT A VARIABLE\n")
    assert main(["doctor", "--component", "worker", "--env-file", str(bad)]) == 2
    assert f"{bad}:1: expected KEY=VALUE" in capsys.readouterr().err


def test_the_registry_names_the_global_executors_opened_to_teams(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("AIRFLOW__CORE__MULTI_TEAM", "True")
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor;team_a=LocalExecutor")
    registry = tmp_path / "registry.yaml"
    registry.write_text("global:\n  executors: [LocalExecutor]\nteams:\n  team_a:\n    executors: [LocalExecutor]\n")
    from airflow_policies.document.builder import forget_loaded_executors

    forget_loaded_executors()
    try:
        code = main(["doctor", "--component", "scheduler", "--registry", str(registry), "--no-processes",
                     "--format", "json"])  # fmt: skip
    finally:
        forget_loaded_executors()
    findings = [f for f in json.loads(capsys.readouterr().out)["findings"] if f["check"] == "global_executor"]
    assert [f["evidence"] for f in findings] == [["registry global.executors: LocalExecutor"]]
    assert code == 1  # the LocalExecutor's own findings (team_a's tasks are the scheduler's children)
