"""``airflow-policies check`` as a CI user runs it: a subprocess, a real DagBag parse, a local real OPA."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import EXAMPLE_DAGS, EXAMPLE_REGISTRY, EXAMPLE_ROLLOUT, REPO

CLI = [sys.executable, "-m", "airflow_policies.cli"]


def _check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_POLICIES_"))}
    environ.update(env or {})
    return subprocess.run([*CLI, "check", *args], capture_output=True, text=True, timeout=300, env=environ)


def _check_json(path: Path, bundle: str, team: str) -> subprocess.CompletedProcess[str]:
    """`check --format json` against a local OPA with the example registry."""
    return _check(
        str(path), "--bundle", bundle, "--team", team, "--registry", str(EXAMPLE_REGISTRY), "--format", "json"
    )


def _json(result: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(result.stdout)


def _outcomes(report: dict) -> dict[str, str]:
    return {d["dag_id"]: d["outcome"] for f in report["files"] for d in f["dags"]}


def test_example_team_a_folder_json(tmp_path):
    """JSON output: per DAG its team, outcome, violations and mutations (before -> after); exit 1 on rejection."""
    result = _check_json(EXAMPLE_DAGS / "team_a", "team_a_dags", "team_a")
    assert result.returncode == 1, result.stderr
    report = _json(result)
    assert _outcomes(report) == {
        "team_a__etl": "mutated",
        "team_a__borrow_connection": "rejected",
        "team_a__hidden_in_mapping": "rejected",
        "team_a__legacy_export": "rejected",
        "team_b__publish": "rejected",
    }
    etl = next(d for f in report["files"] for d in f["dags"] if d["dag_id"] == "team_a__etl")
    assert {
        "rule": "routing.team_queue",
        "task_ids": ["load", "report"],
        "field": "queue",
        "before": "default",
        "after": "team_a",
        "action": "deny",
        "applied": True,
    } in etl["mutations"]
    assert report["team"] == "team_a" and etl["team"] == "team_a"


def test_compliant_folder_exits_zero_with_a_text_table():
    """Text output names file, dag_id, team and outcome; nothing rejected means exit 0."""
    result = _check(
        str(EXAMPLE_DAGS / "team_b" / "publish.py"),
        "--bundle",
        "team_b_dags",
        "--team",
        "team_b",
        "--registry",
        str(EXAMPLE_REGISTRY),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "publish.py  team_b__publish  (team: team_b)" in result.stdout
    assert "0 rejected" in result.stdout


def test_files_that_fail_to_import_are_reported(tmp_path):
    """A syntax error is an import error in the report and fails the check."""
    (tmp_path / "broken.py").write_text("from airflow.sdk import DAG\ndef broken(:\n")
    result = _check_json(tmp_path, "b", "team_a")
    assert result.returncode == 1
    (file,) = _json(result)["files"]
    assert file["file"] == "broken.py" and "SyntaxError" in file["import_error"]


def test_dag_code_cannot_switch_the_check_off(tmp_path):
    """A file that rebinds settings.dag_policy and unregisters every policy plugin is still evaluated,
    and so is the file parsed after it."""
    (tmp_path / "a_tamper.py").write_text(
        textwrap.dedent("""
        import pendulum
        from airflow import settings
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.empty import EmptyOperator
        settings.dag_policy = lambda dag: None
        settings.task_policy = lambda task: None
        manager = settings.get_policy_plugin_manager()
        for name, plugin in list(manager.list_name_plugin()):
            manager.unregister(name=name)
        with DAG("team_a__tamper", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
            EmptyOperator(task_id="e", queue="team_b")
    """)
    )
    (tmp_path / "b_next.py").write_text(
        textwrap.dedent("""
        import pendulum
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.empty import EmptyOperator
        with DAG("team_a__next", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
            EmptyOperator(task_id="e", pool="team_b_pool")
    """)
    )
    result = _check_json(tmp_path, "team_a_dags", "team_a")
    report = _json(result)
    assert _outcomes(report) == {"team_a__tamper": "rejected", "team_a__next": "rejected"}
    rules = {v["rule"] for f in report["files"] for d in f["dags"] for v in d["violations"]}
    assert {"queues.foreign_queue", "pools.foreign_pool"} <= rules


@pytest.mark.parametrize(
    ("executors", "publish"),
    [("LocalExecutor;team_b=LocalExecutor", "mutated"), ("LocalExecutor", "rejected")],
    ids=["team-executor", "global-executor-only"],
)
def test_team_comes_from_airflow_bundle_config_when_multi_team_is_on(executors, publish):
    """Without --team, the bundle's team is read from Airflow's dag_bundle_config_list; and the deployment's
    [core] executor decides where team B's tasks would run: without an executor of its own, on the global
    LocalExecutor, which the example registry opens to no team (executors.global_executor)."""
    bundles = [
        {
            "name": "team_b_dags",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(EXAMPLE_DAGS / "team_b")},
            "team_name": "team_b",
        }
    ]
    env = {
        "AIRFLOW__CORE__MULTI_TEAM": "True",
        "AIRFLOW__CORE__EXECUTOR": executors,
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
    }
    result = _check(
        str(EXAMPLE_DAGS / "team_b"),
        "--bundle",
        "team_b_dags",
        "--registry",
        str(EXAMPLE_REGISTRY),
        "--format",
        "json",
        env=env,
    )
    report = _json(result)
    assert report["team"] == "team_b"
    assert _outcomes(report) == {
        "team_b__publish": publish,
        "team_b__reach_across": "rejected",
        "team_b__borrow_gpu": "rejected",
    }
    dags = [d for f in report["files"] for d in f["dags"] if d["dag_id"] == "team_b__publish"]
    rules = {v["rule"] for dag in dags for v in dag["violations"]}
    assert rules == ({"executors.global_executor"} if publish == "rejected" else set())


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--bundle", "b", "--team", "team_a"], "no OPA to ask"),
        (["--bundle", "b", "--registry", "/nonexistent.yaml"], "registry file /nonexistent.yaml does not exist"),
    ],
)
def test_usage_errors_exit_two(args, fragment):
    """Configuration mistakes exit 2 with a message saying what to do."""
    result = _check(str(EXAMPLE_DAGS / "team_a"), *args)
    assert result.returncode == 2
    assert fragment in result.stderr


def test_invalid_config_file_exits_two_naming_the_field(tmp_path):
    """A config file with a bad value is a usage error that names the field."""
    config = tmp_path / "airflow-policies.yaml"
    config.write_text("read_timeout_seconds: -1\n")
    result = _check(str(EXAMPLE_DAGS / "team_a"), "--bundle", "b", "--config", str(config))
    assert result.returncode == 2
    assert "read_timeout_seconds" in result.stderr
    assert str(config) in result.stderr


def test_unreachable_opa_is_an_error_outcome():
    """An explicit --opa-url that does not answer: fail-closed outcomes naming the URL, exit 1."""
    result = _check(
        str(EXAMPLE_DAGS / "team_b" / "publish.py"),
        "--bundle",
        "team_b_dags",
        "--team",
        "team_b",
        "--opa-url",
        "http://127.0.0.1:9",
        "--format",
        "json",
    )
    assert result.returncode == 1
    (dag,) = _json(result)["files"][0]["dags"]
    assert dag["outcome"] == "failed_closed" and "http://127.0.0.1:9" in dag["error"]


def test_rollout_diff_and_expiring_exceptions():
    """--rollout applies exceptions, --expiring-within lists them, --diff prints only before -> after."""
    rollout = str(EXAMPLE_ROLLOUT)
    export = str(EXAMPLE_DAGS / "team_a" / "legacy_export.py")
    common = ("--bundle", "team_a_dags", "--team", "team_a", "--registry", str(EXAMPLE_REGISTRY), "--rollout", rollout)
    report = _json(_check(export, *common, "--expiring-within", "100000d", "--format", "json"))
    (dag,) = report["files"][0]["dags"]
    assert (dag["outcome"], dag["exceptions_applied"]) == ("mutated", ["EXC-101"])
    assert [e["id"] for e in report["expiring_exceptions"]] == ["EXC-101"]
    assert _json(_check(export, *common, "--expiring-within", "1d", "--format", "json"))["expiring_exceptions"] == []
    diff = _check(str(EXAMPLE_DAGS / "team_a" / "etl.py"), *common, "--diff")
    assert diff.stdout.splitlines()[0] == "etl.py  team_a__etl"
    routed = "    ~ 2 tasks ('load', 'report') queue: 'default' -> 'team_a'  [routing.team_queue]"
    assert routed in diff.stdout.splitlines()
    assert diff.stdout.splitlines()[-1] == "5 fields changed"


def test_malformed_rollout_is_a_usage_error(tmp_path):
    """An exception without an expiry is refused when the data loads: exit 2, naming the entry."""
    rollout = tmp_path / "rollout.yaml"
    rollout.write_text("exceptions: [{id: E, rule: pools.foreign_pool, team: t, owner: o, reason: r, ticket: k}]\n")
    result = _check(
        str(EXAMPLE_DAGS / "team_a"), "--bundle", "b", "--registry", str(EXAMPLE_REGISTRY), "--rollout", str(rollout)
    )
    assert result.returncode == 2
    assert "exceptions.0.expires: Field required" in result.stderr


def test_validate_rollout_before_loading_it_into_opa(tmp_path):
    """validate-rollout: exit 0 with a summary for the example, exit 2 naming the entry for a bad rule id."""
    ok = subprocess.run([*CLI, "validate-rollout", str(EXAMPLE_ROLLOUT)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "valid (2 action overrides, 1 exceptions)" in ok.stdout
    bad = tmp_path / "rollout.yaml"
    bad.write_text("actions: [{rule: queues.foreign_queu, action: warn}]\n")
    refused = subprocess.run([*CLI, "validate-rollout", str(bad)], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    assert "actions[0].rule: no loaded rule has the id 'queues.foreign_queu'" in refused.stderr
    assert "did you mean 'queues.foreign_queue'" in refused.stderr


def _check_as(fmt: str) -> subprocess.CompletedProcess[str]:
    return _check(
        str(EXAMPLE_DAGS / "team_a"), "--bundle", "team_a_dags", "--team", "team_a", "--registry",
        str(EXAMPLE_REGISTRY), "--rollout", str(EXAMPLE_ROLLOUT), "--format", fmt,
    )  # fmt: skip


def test_sarif_validates_against_the_sarif_2_1_0_schema():
    """--format sarif: valid against the OASIS schema; each finding has its rule, level, file, line; the
    excepted one is a suppression."""
    result = _check_as("sarif")
    assert result.returncode == 1, result.stderr
    log = json.loads(result.stdout)
    schema = json.loads((REPO / ".tools" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    run = log["runs"][0]
    by_rule = {}
    for r in run["results"]:
        by_rule.setdefault(r["ruleId"], []).append(r)
    query = next(r for r in by_rule["connections.foreign_connection"] if "query_warehouse" in r["message"]["text"])
    location = query["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("examples/dags/team_a/borrow_connection.py")
    source = (EXAMPLE_DAGS / "team_a" / "borrow_connection.py").read_text().splitlines()
    assert 'task_id="query_warehouse"' in source[location["region"]["startLine"] - 1]
    assert query["level"] == "error"
    (excepted,) = [r for r in by_rule["pools.foreign_pool"] if "suppressions" in r]
    assert excepted["suppressions"][0]["justification"].startswith("EXC-101")
    assert excepted["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("legacy_export.py")
    rule = next(d for d in run["tool"]["driver"]["rules"] if d["id"] == "connections.foreign_connection")
    assert rule["properties"] == {"action": "deny", "severity": "high"}


def test_junit_has_a_failing_case_per_rejected_dag():
    """--format junit: one suite per file, one case per DAG, failures exactly for the rejected DAGs."""
    result = _check_as("junit")
    suites = ET.fromstring(result.stdout)
    failed = {case.get("name") for case in suites.iter("testcase") if case.find("failure") is not None}
    passed = {case.get("name") for case in suites.iter("testcase") if case.find("failure") is None}
    assert failed == {"team_a__borrow_connection", "team_a__hidden_in_mapping", "team_b__publish"}
    assert passed == {"team_a__etl", "team_a__legacy_export"}


def test_github_annotations_point_at_the_task_line():
    """--format github: one ::error per denied finding, with file, line and rule in the title."""
    result = _check_as("github")
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 7
    annotation = next(line for line in errors if "query_warehouse" in line)
    pattern = r"::error file=(.+?),line=(\d+),title=connections.foreign_connection%3A .+?::task 'query_warehouse'"
    match = re.match(pattern, annotation)
    assert match is not None, annotation
    assert 'task_id="query_warehouse"' in Path(match[1]).read_text().splitlines()[int(match[2]) - 1]


def test_progress_on_stderr_for_many_files(tmp_path):
    """Checking many files outside a terminal (CI) prints one progress line per tenth on stderr."""
    source = (EXAMPLE_DAGS / "team_a" / "etl.py").read_text()
    for n in range(20):
        (tmp_path / f"etl_{n:02d}.py").write_text(source.replace('"team_a__etl"', f'"team_a__etl_{n:02d}"'))
    result = _check(str(tmp_path), "--bundle", "team_a_dags", "--team", "team_a", "--registry", str(EXAMPLE_REGISTRY))
    assert result.returncode == 0, result.stderr[-2000:]
    progress = [line for line in result.stderr.splitlines() if line.startswith("airflow-policies: checked")]
    assert progress == [f"airflow-policies: checked {n}/20 files" for n in range(2, 21, 2)]


_USES_HELPERS = """
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

import helpers_team_a
from common.naming import team_dag_id

with DAG(team_dag_id("uses_helper"), schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    EmptyOperator(task_id="e", queue=helpers_team_a.QUEUE)
"""
_ANOTHER = """
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG("team_a__nested", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    EmptyOperator(task_id="e")
"""
_WORK_IN_PROGRESS = "from airflow.sdk import DAG\nraise RuntimeError('work in progress')\n"


def _dag_repository(root: Path) -> Path:
    """A team's DAG repository as teams lay it out: a helper module and a package beside the DAGs, a scratch
    folder and old files kept out by .airflowignore files at two levels."""
    (root / "common").mkdir(parents=True)
    (root / "helpers_team_a.py").write_text("QUEUE = 'team_a'\n")
    (root / "common" / "__init__.py").write_text("")
    (root / "common" / "naming.py").write_text("def team_dag_id(name):\n    return f'team_a__{name}'\n")
    (root / "uses_helper.py").write_text(_USES_HELPERS)
    (root / "scratch").mkdir()
    (root / "scratch" / "draft.py").write_text(_WORK_IN_PROGRESS)
    (root / ".airflowignore").write_text("scratch/\n# old DAGs are kept for reference\n")
    (root / "nested").mkdir()
    (root / "nested" / ".airflowignore").write_text("old_*.py\n")
    (root / "nested" / "old_export.py").write_text(_WORK_IN_PROGRESS)
    (root / "nested" / "current.py").write_text(_ANOTHER)
    return root


def test_a_dag_repository_is_parsed_as_the_dag_processor_parses_its_bundle(tmp_path):
    """The bundle root is on sys.path (a helper module and a package import), .airflowignore files at every level
    are honoured, and only the files dag_discovery_safe_mode takes for DAG files are parsed: the same files
    Airflow's own listing of the bundle gives."""
    from airflow.utils.file import list_py_file_paths

    from airflow_policies.commands.check import dag_files

    repository = _dag_repository(tmp_path / "dags")
    result = _check_json(repository, "team_a_dags", "team_a")
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    report = _json(result)
    assert [f["file"] for f in report["files"]] == ["nested/current.py", "uses_helper.py"]
    assert all(f["import_error"] is None for f in report["files"])
    assert _outcomes(report) == {"team_a__nested": "mutated", "team_a__uses_helper": "mutated"}
    routed = {m["field"]: m["after"] for f in report["files"] for d in f["dags"] if d["dag_id"] == "team_a__nested"
              for m in d["mutations"]}  # fmt: skip
    helped = {m["field"] for f in report["files"] for d in f["dags"] if d["dag_id"] == "team_a__uses_helper"
              for m in d["mutations"]}  # fmt: skip
    assert routed["queue"] == "team_a" and "queue" not in helped  # the helper module's queue reached the task
    airflow_lists = sorted(Path(p) for p in list_py_file_paths(repository, safe_mode=True))
    assert dag_files([repository], repository.resolve()) == airflow_lists


def test_files_named_by_pre_commit_are_filtered_as_airflow_would(tmp_path):
    """Named files (as pre-commit passes them, relative to the repository) under --bundle-root: an ignored file and a
    helper are not parsed, the DAG file is, with the bundle root on its sys.path."""
    repository = _dag_repository(tmp_path / "dags")
    result = subprocess.run(
        [*CLI, "check", "dags/uses_helper.py", "dags/scratch/draft.py", "dags/helpers_team_a.py",
         "--bundle-root", "dags", "--bundle", "team_a_dags", "--team", "team_a",
         "--registry", str(EXAMPLE_REGISTRY), "--format", "json"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_POLICIES_"))},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert [f["file"] for f in _json(result)["files"]] == ["uses_helper.py"]
    assert repository.is_dir()
