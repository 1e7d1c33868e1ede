"""Configuration: file, then environment, then explicit overrides; errors name the bad field."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_policies._config import load_settings
from airflow_policies.exceptions import ConfigurationError


class TestLoadSettings:
    def test_defaults(self):
        """With nothing configured, OPA is expected on loopback with a 2 s budget."""
        settings = load_settings(environ={})
        assert (str(settings.opa_url), settings.read_timeout_seconds) == ("http://127.0.0.1:8181/", 2.0)

    def test_environment_overrides_file(self, tmp_path: Path):
        """Environment variables win over the config file."""
        config = tmp_path / "c.yaml"
        config.write_text("opa_url: http://opa.internal:8181\nread_timeout_seconds: 5\nbundle_teams: {b: t}\n")
        settings = load_settings(config, environ={"AIRFLOW_POLICIES_READ_TIMEOUT_SECONDS": "0.5"})
        assert (settings.opa_url.host, settings.read_timeout_seconds, settings.bundle_teams) == (
            "opa.internal",
            0.5,
            {"b": "t"},
        )

    def test_config_file_from_environment(self, tmp_path: Path):
        """AIRFLOW_POLICIES_CONFIG points at the file."""
        config = tmp_path / "c.yaml"
        config.write_text("bundle_teams: {team_a_dags: team_a}\n")
        settings = load_settings(environ={"AIRFLOW_POLICIES_CONFIG": str(config)})
        assert settings.bundle_teams == {"team_a_dags": "team_a"}

    @pytest.mark.parametrize(
        ("environ", "fragment"),
        [
            ({"AIRFLOW_POLICIES_OPA_URL": "not a url"}, "opa_url (AIRFLOW_POLICIES_OPA_URL)"),
            (
                {"AIRFLOW_POLICIES_READ_TIMEOUT_SECONDS": "-1"},
                "read_timeout_seconds (AIRFLOW_POLICIES_READ_TIMEOUT_SECONDS)",
            ),
            ({"AIRFLOW_POLICIES_READ_TIMEOUT_SECONDS": "soon"}, "read_timeout_seconds"),
            ({"AIRFLOW_POLICIES_BUNDLE_TEAMS": "{oops"}, "AIRFLOW_POLICIES_BUNDLE_TEAMS is not JSON"),
            ({"AIRFLOW_POLICIES_BUNDLE_TEAMS": '{"b": 3}'}, "bundle_teams.b"),
            ({"AIRFLOW_POLICIES_DECISION_PATH": "../x"}, "decision_path"),
        ],
    )
    def test_bad_values_name_the_field(self, environ, fragment):
        """Each invalid value is reported with the field and the variable that set it."""
        with pytest.raises(ConfigurationError) as error:
            load_settings(environ=environ)
        assert fragment in str(error.value)

    def test_unknown_key_in_file_is_refused(self, tmp_path: Path):
        """A typo in the config file is an error, not silently ignored."""
        config = tmp_path / "c.yaml"
        config.write_text("opa_ulr: http://x\n")
        with pytest.raises(ConfigurationError, match="opa_ulr"):
            load_settings(config, environ={})

    @pytest.mark.parametrize("content", ["- a list\n", "key: [unclosed\n"])
    def test_malformed_file_is_refused(self, tmp_path: Path, content: str):
        """A config file that is not a YAML mapping is an error naming the file."""
        config = tmp_path / "c.yaml"
        config.write_text(content)
        with pytest.raises(ConfigurationError, match=str(config)):
            load_settings(config, environ={})

    def test_missing_file_is_refused(self, tmp_path: Path):
        """A config file that does not exist is an error naming it."""
        with pytest.raises(ConfigurationError, match="cannot read"):
            load_settings(tmp_path / "absent.yaml", environ={})
