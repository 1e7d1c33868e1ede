"""Team resolution: from the bundle only, via Airflow's config or our mapping."""

from __future__ import annotations

import json

import pytest

from airflow_policies._config import load_settings
from airflow_policies.decision.teams import read_bundle_teams
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
    def test_multi_team_reads_airflow_bundle_config(self, multi_team, monkeypatch: pytest.MonkeyPatch):
        """With multi_team on, Airflow's dag_bundle_config_list decides, and our mapping is ignored."""
        monkeypatch.setenv("AIRFLOW__AIRFLOW_POLICIES__BUNDLE_TEAMS", '{"team_a_dags": "team_b"}')
        settings = load_settings(environ={})
        assert dict(read_bundle_teams(settings)) == {"team_a_dags": "team_a", "shared_dags": None}

    def test_without_multi_team_our_mapping_decides(self, monkeypatch: pytest.MonkeyPatch):
        """With multi_team off, the bundle_teams setting maps bundles to teams."""
        monkeypatch.setenv("AIRFLOW__CORE__MULTI_TEAM", "False")
        monkeypatch.setenv("AIRFLOW__AIRFLOW_POLICIES__BUNDLE_TEAMS", '{"team_a_dags": "team_a"}')
        settings = load_settings(environ={})
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
