"""The DAG-processor manager re-checks every parse result before the DB write, with no DAG code in its
process: a DAG file that switches the parse-time policy off still never reaches the DB. Real
`airflow dag-processor` (a forked child per file, the manager persisting), real OPA, SQLite metadata DB."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec

LAYERS = Path(__file__).resolve().parent / "layers"
REFUSED_URL = "http://127.0.0.1:9"


def _run(home: Path, opa_url: str, env: dict[str, str] | None = None) -> dict:
    sandbox = AirflowSandbox(
        home=home, bundles=[BundleSpec("team_a_dags", LAYERS / "team_a", "team_a")], opa_url=opa_url
    )
    decision_log = home / "decisions.jsonl"
    sandbox.extra_env |= {"AIRFLOW__AIRFLOW_POLICIES__DECISION_LOG": str(decision_log), **(env or {})}
    sandbox.initialise()
    sandbox.airflow("dag-processor", "--num-runs", "1", timeout=240)
    records = [json.loads(line) for line in decision_log.read_text().splitlines()] if decision_log.exists() else []
    return sandbox.state() | {"decisions": records}


def _decisions(state: dict, dag_id: str) -> dict[str, str]:
    return {r["enforcement_point"]: r["outcome"] for r in state["decisions"] if r["dag_id"] == dag_id}


@pytest.fixture(scope="module")
def checked(opa_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return _run(tmp_path_factory.mktemp("manager-on"), opa_url)


def test_a_dag_that_switched_the_policy_off_is_not_persisted(checked):
    """The tamper DAG's parse made no decision (the manager decides; its file unregistered the policy anyway), the
    manager rejected it,
    and the DB holds an import error for its file instead of the DAG."""
    assert "team_a__tamper" not in checked["dags"]
    assert _decisions(checked, "team_a__tamper") == {"dag_processor_manager": "rejected"}
    (error,) = [e for e in checked["import_errors"] if e["file"] == "tamper.py"]
    assert error["bundle"] == "team_a_dags"
    assert error["message"].startswith(
        "AirflowClusterPolicyViolation: DAG 'team_a__tamper' (bundle 'team_a_dags', team 'team_a') breaks"
    )
    assert "[queues.foreign_queue] task 'read_team_b_warehouse'" in error["message"]
    assert (
        "[connections.foreign_connection] task 'read_team_b_warehouse' uses connection 'team_b_warehouse'"
        in (error["message"])
    )


def test_a_compliant_dag_is_decided_once_in_the_manager_and_stored_routed(checked):
    """The compliant DAG was decided once, in the manager (its parse child made no decision), and Airflow stored it
    with the manager's routing applied to its serialized form."""
    assert _decisions(checked, "team_a__allowed") == {"dag_processor_manager": "mutated"}
    assert len([r for r in checked["decisions"] if r["dag_id"] == "team_a__allowed"]) == 1
    assert checked["dags"]["team_a__allowed"]["tasks"] == {
        "read_own_connection": {"queue": "team_a", "pool": "team_a_pool"}
    }
    assert not checked["dags"]["team_a__allowed"]["has_import_errors"]


def test_without_the_manager_check_the_tamper_dag_gets_in(opa_url, tmp_path):
    """The control: with the manager's re-check switched off, the same file reaches the DB on team B's queue."""
    state = _run(tmp_path, opa_url, {"AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS": '["dag_processor_manager"]'})
    assert state["dags"]["team_a__tamper"]["tasks"] == {
        "read_team_b_warehouse": {"queue": "team_b", "pool": "default_pool"}
    }
    assert _decisions(state, "team_a__tamper") == {}


def test_opa_down_fails_closed_in_the_manager(tmp_path):
    """With OPA unreachable, nothing is persisted and each file's import error says why (fail closed)."""
    state = _run(tmp_path, REFUSED_URL)
    assert state["dags"] == {}
    (error,) = [e["message"] for e in state["import_errors"] if e["file"] == "tamper.py"]
    assert "could not decide on it (fail closed)" in error and "is unreachable" in error
    assert _decisions(state, "team_a__tamper") == {"dag_processor_manager": "failed_closed"}


LIAR = Path(__file__).resolve().parent / "liar" / "team_a"


@pytest.fixture(scope="module")
def lied_to(opa_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One pass of the DAG processor over team A's etl.py and liar.py (see its docstring)."""
    home = tmp_path_factory.mktemp("liar")
    sandbox = AirflowSandbox(home=home, bundles=[BundleSpec("team_a_dags", LIAR, "team_a")], opa_url=opa_url)
    decision_log = home / "decisions.jsonl"
    sandbox.extra_env["AIRFLOW__AIRFLOW_POLICIES__DECISION_LOG"] = str(decision_log)
    sandbox.initialise()
    sandbox.airflow("dag-processor", "--num-runs", "1", timeout=240)
    records = [json.loads(line) for line in decision_log.read_text().splitlines()]
    return sandbox.state() | {"decisions": records}


def test_a_child_rerouting_its_dags_after_the_parse_is_rejected_by_the_manager(lied_to):
    """The child decided (its file forced it to) and then sent its DAG on team B's queue and pool: the manager
    decided on what it received and rejected it; the import error is on the liar's own file."""
    assert "team_a__liar" not in lied_to["dags"]
    assert _decisions(lied_to, "team_a__liar")["dag_processor_manager"] == "rejected"
    (error,) = [e["message"] for e in lied_to["import_errors"] if e["file"] == "liar.py"]
    assert "DAG 'team_a__liar' (bundle 'team_a_dags', team 'team_a') breaks" in error
    assert "[queues.foreign_queue] task 'work'" in error and "[pools.foreign_pool] task 'work'" in error


def test_a_forged_copy_of_another_files_dag_does_not_touch_it(lied_to):
    """The copy posing as etl.py's team_a__etl, on team B's queue, is rejected and counted against liar.py; the
    real team_a__etl is stored from etl.py, routed to team A, with no import error."""
    etl = lied_to["dags"]["team_a__etl"]
    assert (etl["fileloc"], etl["has_import_errors"]) == ("etl.py", False)
    assert {t["queue"] for t in etl["tasks"].values()} == {"team_a"}
    (error,) = [e["message"] for e in lied_to["import_errors"] if e["file"] == "liar.py"]
    assert "DAG 'team_a__etl' (bundle 'team_a_dags', team 'team_a') breaks" in error
    assert not [e for e in lied_to["import_errors"] if e["file"] == "etl.py"]


def test_routing_stripped_by_the_child_is_applied_again_by_the_manager(lied_to):
    """A compliant DAG sent without the routing: the manager routes it in what Airflow stores."""
    quiet = lied_to["dags"]["team_a__quiet"]
    assert quiet["tasks"] == {"work": {"queue": "team_a", "pool": "team_a_pool"}}
    assert quiet["tags"] == ["team:team_a"]


def test_a_serialized_dag_airflow_cannot_read_is_not_stored(lied_to):
    """A doctored form the manager cannot deserialize fails closed."""
    assert "team_a__unreadable" not in lied_to["dags"]
    (error,) = [e["message"] for e in lied_to["import_errors"] if e["file"] == "liar.py"]
    assert "DAG 'team_a__unreadable' was rejected because airflow-policies could not read its serialized form" in error


def test_a_task_hidden_behind_another_with_its_id_is_not_stored(lied_to):
    """Two task entries with one id: deserialization (what the policy sees) keeps the last, the stored JSON would
    keep both (the first writing to team B's asset). The manager refuses the DAG (fail closed)."""
    assert "team_a__ghost" not in lied_to["dags"]
    (error,) = [e["message"] for e in lied_to["import_errors"] if e["file"] == "liar.py"]
    assert "DAG 'team_a__ghost' was rejected because" in error and "task entries for" in error
