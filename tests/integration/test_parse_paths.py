"""The drop-in, copied into $AIRFLOW_HOME/config, under Airflow's real parse paths with a real metadata
DB: ``airflow dags reserialize`` (one process) and ``airflow dag-processor`` (a forked child per file,
ORM blocked). What Airflow records is what a user sees in the UI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec
from tests.conftest import EXAMPLE_DAGS

PARSE_COMMANDS = {
    "dags-reserialize": ("dags", "reserialize"),
    "dag-processor": ("dag-processor", "--num-runs", "1"),
}
#: Where each command decides: ``dags reserialize`` at parse time (no manager), the DAG processor in its manager
#: (its parse children make no decision).
POINTS = {"dags-reserialize": "cli", "dag-processor": "dag_processor_manager"}


def _example_sandbox(home: Path, opa_url: str) -> AirflowSandbox:
    return AirflowSandbox(
        home=home,
        bundles=[
            BundleSpec("team_a_dags", EXAMPLE_DAGS / "team_a", "team_a"),
            BundleSpec("team_b_dags", EXAMPLE_DAGS / "team_b", "team_b"),
            BundleSpec("shared_dags", EXAMPLE_DAGS / "shared"),
        ],
        opa_url=opa_url,
    )


@pytest.fixture(scope="module", params=sorted(PARSE_COMMANDS))
def state(request: pytest.FixtureRequest, opa_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The DB after one parse of the example bundles by the given Airflow command."""
    sandbox = _example_sandbox(tmp_path_factory.mktemp("airflow-home"), opa_url)
    decision_log = sandbox.home / "decisions.jsonl"
    sandbox.extra_env["AIRFLOW__AIRFLOW_POLICIES__DECISION_LOG"] = str(decision_log)
    assert (sandbox.home / "config" / "airflow_local_settings.py").is_file()
    sandbox.initialise()
    sandbox.airflow(*PARSE_COMMANDS[request.param], timeout=240)
    records = [json.loads(line) for line in decision_log.read_text().splitlines()]
    return sandbox.state() | {"decisions": records, "point": POINTS[request.param]}


def _error(state: dict, bundle: str, file: str) -> str:
    (message,) = [e["message"] for e in state["import_errors"] if (e["bundle"], e["file"]) == (bundle, file)]
    return message


def test_violating_files_are_import_errors_in_the_db(state):
    """Each violating file has one import error naming the team, the rules and the offending values."""
    assert {(e["bundle"], e["file"]) for e in state["import_errors"]} == {
        ("team_a_dags", "borrow_connection.py"),
        ("team_a_dags", "hidden_in_mapping.py"),
        ("team_a_dags", "takeover.py"),
        ("team_b_dags", "reach_across.py"),
        ("shared_dags", "orphan.py"),
    }
    borrow = _error(state, "team_a_dags", "borrow_connection.py")
    assert borrow.startswith(
        "AirflowClusterPolicyViolation: DAG 'team_a__borrow_connection' (bundle 'team_a_dags', team 'team_a')"
    )
    assert "[connections.foreign_connection] task 'query_warehouse' uses connection 'team_b_warehouse'" in borrow
    assert "[connections.foreign_connection] task 'print_host' uses connection 'team_b_warehouse'" in borrow
    assert "team_b_warehouse" in borrow
    assert "shared_dags" in _error(state, "shared_dags", "orphan.py")
    reach = _error(state, "team_b_dags", "reach_across.py")
    assert "cross_dag.foreign_target" in reach and "team_a__etl" in reach


def test_compliant_dags_are_stored_routed_to_their_team(state):
    """Admitted DAGs are serialized with their tasks on the team's queue and pool and the team tag."""
    etl = state["dags"]["team_a__etl"]
    assert etl["bundle"] == "team_a_dags" and not etl["has_import_errors"]
    assert etl["tasks"] == {
        "load": {"queue": "team_a", "pool": "team_a_pool"},
        "report": {"queue": "team_a", "pool": "team_a_pool"},
    }
    assert etl["tags"] == ["etl", "team:team_a"]


def test_dag_id_takeover_does_not_win(state):
    """team_a's file declaring team_b__publish is refused: the stored DAG is still team B's."""
    publish = state["dags"]["team_b__publish"]
    assert publish["bundle"] == "team_b_dags"
    assert set(publish["tasks"]) == {"publish_prices"}
    assert "team:team_a" not in publish["tags"]


def test_rejected_dags_are_not_stored(state):
    """No rejected DAG reaches the serialized-DAG table."""
    assert not {"team_a__borrow_connection", "team_a__hidden_in_mapping", "team_b__reach_across", "orphan"} & set(
        state["dags"]
    )


def test_the_example_folders_are_what_the_demo_shows(state):
    """Every example DAG file is accounted for: stored or an import error."""
    files = {
        (b, p.name)
        for b, folder in (("team_a_dags", "team_a"), ("team_b_dags", "team_b"), ("shared_dags", "shared"))
        for p in Path(EXAMPLE_DAGS / folder).glob("*.py")
    }
    stored = {(d["bundle"], d["fileloc"]) for d in state["dags"].values()}
    errors = {(e["bundle"], e["file"]) for e in state["import_errors"]}
    assert files == stored | errors


def test_opa_down_rejects_every_dag_in_the_dag_processor(tmp_path):
    """With OPA unreachable, the DAG processor stores no DAG and records, for every file, an import error
    naming the OPA URL (fail closed)."""
    sandbox = _example_sandbox(tmp_path / "home", "http://127.0.0.1:9")
    sandbox.initialise()
    sandbox.airflow(*PARSE_COMMANDS["dag-processor"], timeout=240)
    state = sandbox.state()
    assert state["dags"] == {}
    assert len(state["import_errors"]) == len(list(EXAMPLE_DAGS.glob("*/*.py")))
    for error in state["import_errors"]:
        assert "could not decide on it (fail closed)" in error["message"]
        assert "http://127.0.0.1:9/v1/data/airflow_policies/main/decision is unreachable" in error["message"]


def test_warned_dag_is_admitted_and_airflow_holds_the_warning_the_ui_shows(state):
    """queues.foreign_queue warns team B in production (examples/rollout.yaml): the DAG is stored, and the
    warning is in Airflow's dag_warning table, read back through Airflow's own model, as the UI shows it."""
    gpu = state["dags"]["team_b__borrow_gpu"]
    assert (gpu["bundle"], gpu["has_import_errors"], gpu["tasks"]["train"]["queue"]) == (
        "team_b_dags",
        False,
        "team_a_gpu",
    )
    assert [w["dag_id"] for w in state["dag_warnings"]] == ["team_b__borrow_gpu"]
    (warning,) = state["dag_warnings"]
    assert warning["warning_type"] == "non-existent pool"
    assert warning["message"].startswith(
        "airflow-policies: DAG 'team_b__borrow_gpu' (bundle 'team_b_dags', team 'team_b') is admitted, but:\n"
        "  - [queues.foreign_queue] task 'train' runs on queue 'team_a_gpu', which team 'team_b' may not use"
    )


def test_excepted_dag_is_admitted_silently(state):
    """EXC-101 excuses team A's use of team B's pool in one DAG: stored as written, no warning."""
    export = state["dags"]["team_a__legacy_export"]
    assert (export["has_import_errors"], export["tasks"]["export"]["pool"]) == (False, "team_b_pool")
    assert "team_a__legacy_export" not in {w["dag_id"] for w in state["dag_warnings"]}


def test_every_decision_is_one_log_line_from_the_parse_path(state):
    """One decision-log line per DAG, from the one enforcement point of the command, with the team and outcome:
    ``dags reserialize`` decides at parse time; the DAG processor decides each DAG once, in its manager, and its
    parse children decide nothing."""
    assert {r["enforcement_point"] for r in state["decisions"]} == {state["point"]}
    found = [(r["bundle"], r["fileloc"], r["dag_id"]) for r in state["decisions"]]
    assert len(found) == len(set(found))  # once per DAG of each file
    # team A's takeover of team_b__publish is decided (and rejected) for team A's bundle, where it was found
    takeover = {(r["bundle"], r["outcome"]) for r in state["decisions"] if r["fileloc"] == "takeover.py"}
    assert takeover == {("team_a_dags", "rejected")}
    records = {r["dag_id"]: r for r in state["decisions"] if r["fileloc"] != "takeover.py"}
    assert (records["team_b__borrow_gpu"]["team"], records["team_b__borrow_gpu"]["outcome"]) == ("team_b", "warned")
    assert records["team_a__legacy_export"]["exceptions_applied"] == ["EXC-101"]
    assert records["team_a__borrow_connection"]["outcome"] == "rejected"
    assert all(r["policy_revision"].startswith("sha256:") for r in state["decisions"])


def test_the_warning_disappears_once_the_dag_is_fixed(opa_url: str, tmp_path: Path):
    """Airflow clears the warning type we use on every parse: fixing the DAG removes the warning."""
    bundle = tmp_path / "team_b"
    bundle.mkdir()
    source = (EXAMPLE_DAGS / "team_b" / "borrow_gpu.py").read_text()
    (bundle / "borrow_gpu.py").write_text(source)
    sandbox = AirflowSandbox(
        home=tmp_path / "home", bundles=[BundleSpec("team_b_dags", bundle, "team_b")], opa_url=opa_url
    )
    sandbox.initialise()
    sandbox.airflow("dags", "reserialize")
    assert [w["dag_id"] for w in sandbox.state()["dag_warnings"]] == ["team_b__borrow_gpu"]
    (bundle / "borrow_gpu.py").write_text(source.replace('queue="team_a_gpu"', 'queue="team_b"'))
    sandbox.airflow("dags", "reserialize")
    state = sandbox.state()
    assert state["dag_warnings"] == []
    assert not state["dags"]["team_b__borrow_gpu"]["has_import_errors"]
