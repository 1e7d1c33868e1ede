"""Team resolution: from the bundle only, via Airflow's config or our mapping."""

from __future__ import annotations

import json

import pytest
from airflow.dag_processing.dagbag import DagBag

from airflow_policies._config import load_settings
from airflow_policies._team import calling_dagbag, enforcement_point, read_bundle_teams
from airflow_policies.exceptions import ConfigurationError

BUNDLES = [
    {
        "name": "team_a_dags",
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": "/tmp"},
        "team_name": "team_a",
    },
    {
        "name": "shared_dags",
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": "/tmp"},
    },
]


@pytest.fixture
def multi_team(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__MULTI_TEAM", "True")
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(BUNDLES))


class TestReadBundleTeams:
    def test_multi_team_reads_airflow_bundle_config(self, multi_team):
        """With multi_team on, Airflow's dag_bundle_config_list decides, and our mapping is ignored."""
        settings = load_settings(environ={"AIRFLOW_POLICIES_BUNDLE_TEAMS": '{"team_a_dags": "team_b"}'})
        assert dict(read_bundle_teams(settings)) == {"team_a_dags": "team_a", "shared_dags": None}

    def test_without_multi_team_our_mapping_decides(self, monkeypatch: pytest.MonkeyPatch):
        """With multi_team off, the bundle_teams setting maps bundles to teams."""
        monkeypatch.setenv("AIRFLOW__CORE__MULTI_TEAM", "False")
        settings = load_settings(environ={"AIRFLOW_POLICIES_BUNDLE_TEAMS": '{"team_a_dags": "team_a"}'})
        assert dict(read_bundle_teams(settings)) == {"team_a_dags": "team_a"}

    def test_the_mapping_is_read_only(self, multi_team):
        """What was read cannot be changed afterwards through the returned mapping."""
        teams = read_bundle_teams(load_settings(environ={}))
        with pytest.raises(TypeError):
            teams["team_a_dags"] = "team_b"  # type: ignore[index]

    def test_malformed_bundle_config_is_a_configuration_error(self, monkeypatch: pytest.MonkeyPatch):
        """A bundle config that is not a list is reported as such."""
        monkeypatch.setenv("AIRFLOW__CORE__MULTI_TEAM", "True")
        monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", '{"name": "x"}')
        with pytest.raises(ConfigurationError, match="must be a JSON list"):
            read_bundle_teams(load_settings(environ={}))


def test_calling_dagbag_is_found_from_inside_a_policy(tmp_path, monkeypatch):
    """Called from a policy hook, calling_dagbag() returns the DagBag parsing the file."""
    from airflow import settings

    (tmp_path / "d.py").write_text(
        "import pendulum\nfrom airflow.sdk import DAG\n"
        "dag = DAG('d', schedule=None, start_date=pendulum.datetime(2026, 1, 1))\n"
    )
    seen = []
    monkeypatch.setattr(settings, "dag_policy", lambda dag: seen.append(calling_dagbag()))
    bag = DagBag(dag_folder=tmp_path, bundle_path=tmp_path, bundle_name="team_a_dags", safe_mode=False)
    assert seen == [bag]
    assert calling_dagbag() is None


class TestEnforcementPoint:
    @pytest.mark.parametrize(
        ("path", "function", "expected"),
        [
            ("/venv/airflow/dag_processing/processor.py", "_parse_file", "dag_processor"),
            ("/venv/airflow/sdk/execution_time/task_runner.py", "parse", "worker"),
            ("/venv/airflow/cli/commands/dag_command.py", "dag_reserialize", "cli"),
        ],
    )
    def test_named_by_the_airflow_entry_point_on_the_stack(self, path, function, expected):
        """The enforcement point comes from which Airflow parse entry point is calling."""
        namespace = {"enforcement_point": enforcement_point}
        exec(compile(f"def {function}():\n    return enforcement_point()\n", path, "exec"), namespace)
        assert namespace[function]() == expected

    def test_dag_code_cannot_pose_as_a_worker(self, tmp_path, monkeypatch):
        """A DAG file setting the worker's parsing-context variables does not change the point."""
        from airflow import settings

        (tmp_path / "d.py").write_text(
            "import os, pendulum\nfrom airflow.sdk import DAG\n"
            "os.environ['_AIRFLOW_PARSING_CONTEXT_DAG_ID'] = 'd'\n"
            "os.environ['_AIRFLOW_PROCESS_CONTEXT'] = 'client'\n"
            "dag = DAG('d', schedule=None, start_date=pendulum.datetime(2026, 1, 1))\n"
        )
        monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "")
        monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "")
        seen = []
        monkeypatch.setattr(settings, "dag_policy", lambda dag: seen.append(enforcement_point()))
        DagBag(dag_folder=tmp_path, bundle_path=tmp_path, bundle_name="b", safe_mode=False)
        assert seen == ["cli"]
