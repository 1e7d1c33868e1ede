"""Configuration: Airflow's [airflow_policies] section, the deprecated sources, overrides; errors name the option."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import airflow
import jsonschema
import pytest
from airflow.configuration import conf

from airflow_policies._config import Settings, load_settings
from airflow_policies.exceptions import ConfigurationError
from airflow_policies.provider_info import config_options, get_provider_info


@pytest.fixture
def airflow_cfg() -> Iterator[dict[str, str]]:
    """Options written into Airflow's configuration (as airflow.cfg would), removed afterwards."""
    options: dict[str, str] = {}
    yield options  # the test fills it before calling set_options
    for name in options:
        conf.remove_option("airflow_policies", name)


def _set(airflow_cfg: dict[str, str], **options: str) -> None:
    if not conf.has_section("airflow_policies"):
        conf.add_section("airflow_policies")
    for name, value in options.items():
        conf.set("airflow_policies", name, value)
        airflow_cfg[name] = value


class TestAirflowConfiguration:
    def test_defaults(self):
        """With nothing configured, OPA is expected on loopback with a 2 s budget, and only set options count."""
        settings = load_settings(environ={})
        assert (str(settings.opa_url), settings.read_timeout_seconds) == ("http://127.0.0.1:8181/", 2.0)
        assert settings.model_fields_set == {"state_dir"}  # tests/conftest.py gives the tests their own

    def test_airflow_cfg_sets_an_option(self, airflow_cfg):
        _set(airflow_cfg, opa_url="http://opa.internal:8181", failure_mode='{"worker": "open"}')
        settings = load_settings(environ={})
        assert (settings.opa_url.host, settings.failure_mode) == ("opa.internal", {"worker": "open"})
        assert settings.model_fields_set == {"opa_url", "failure_mode", "state_dir"}

    def test_airflow_environment_variable_wins_over_airflow_cfg(self, airflow_cfg, monkeypatch):
        """Airflow's own precedence: AIRFLOW__AIRFLOW_POLICIES__<NAME> over the file."""
        _set(airflow_cfg, read_timeout_seconds="5")
        monkeypatch.setenv("AIRFLOW__AIRFLOW_POLICIES__READ_TIMEOUT_SECONDS", "0.25")
        assert load_settings(environ={}).read_timeout_seconds == 0.25

    def test_sensitive_token_from_a_command(self, monkeypatch):
        """opa_token is sensitive: Airflow runs its _cmd form, as for its own secrets."""
        monkeypatch.setenv("AIRFLOW__AIRFLOW_POLICIES__OPA_TOKEN_CMD", "echo token-from-command")
        assert load_settings(environ={}).opa_token == "token-from-command"

    def test_command_form_is_ignored_for_an_option_that_is_not_sensitive(self, monkeypatch):
        """As Airflow does: _cmd / _secret only for sensitive options (no command runs for opa_url)."""
        monkeypatch.setenv("AIRFLOW__AIRFLOW_POLICIES__OPA_URL_CMD", "echo http://elsewhere:1")
        assert load_settings(environ={}).opa_url.host == "127.0.0.1"

    @pytest.mark.parametrize(
        ("variable", "value", "fragment"),
        [
            ("OPA_URL", "not a url", "opa_url (AIRFLOW__AIRFLOW_POLICIES__OPA_URL)"),
            ("READ_TIMEOUT_SECONDS", "-1", "read_timeout_seconds (AIRFLOW__AIRFLOW_POLICIES__READ_TIMEOUT_SECONDS)"),
            ("READ_TIMEOUT_SECONDS", "soon", "read_timeout_seconds"),
            ("BUNDLE_TEAMS", "{oops", "AIRFLOW__AIRFLOW_POLICIES__BUNDLE_TEAMS is not JSON"),
            ("BUNDLE_TEAMS", '{"b": 3}', "bundle_teams.b"),
            ("DECISION_PATH", "../x", "decision_path"),
        ],
    )
    def test_bad_values_name_the_option_and_where_it_was_set(self, monkeypatch, variable, value, fragment):
        monkeypatch.setenv(f"AIRFLOW__AIRFLOW_POLICIES__{variable}", value)
        with pytest.raises(ConfigurationError) as error:
            load_settings(environ={})
        assert fragment in str(error.value)

    def test_a_bad_value_in_airflow_cfg_names_the_file(self, airflow_cfg):
        _set(airflow_cfg, max_input_bytes="12")
        with pytest.raises(ConfigurationError, match=r"max_input_bytes \(\[airflow_policies\] max_input_bytes in "):
            load_settings(environ={})

    def test_overrides_win(self, monkeypatch):
        monkeypatch.setenv("AIRFLOW__AIRFLOW_POLICIES__OPA_URL", "http://configured:1")
        assert load_settings(environ={}, opa_url="http://flag:2").opa_url.host == "flag"


class TestDeprecatedSources:
    def test_old_variable_still_works_with_a_warning_naming_the_new_option(self):
        with pytest.warns(
            FutureWarning,
            match=r"AIRFLOW_POLICIES_READ_TIMEOUT_SECONDS is deprecated.*"
            r"\[airflow_policies\] read_timeout_seconds",
        ):
            settings = load_settings(environ={"AIRFLOW_POLICIES_READ_TIMEOUT_SECONDS": "0.5"})
        assert settings.read_timeout_seconds == 0.5

    def test_old_yaml_file_still_works_with_a_warning(self, tmp_path: Path):
        config = tmp_path / "c.yaml"
        config.write_text("opa_url: http://opa.internal:8181\nbundle_teams: {b: t}\n")
        with pytest.warns(FutureWarning, match="YAML config file"):
            settings = load_settings(environ={"AIRFLOW_POLICIES_CONFIG": str(config)})
        assert (settings.opa_url.host, settings.bundle_teams) == ("opa.internal", {"b": "t"})

    def test_old_variable_wins_over_the_old_file(self, tmp_path: Path):
        config = tmp_path / "c.yaml"
        config.write_text("read_timeout_seconds: 5\n")
        with pytest.warns(FutureWarning):
            settings = load_settings(config, environ={"AIRFLOW_POLICIES_READ_TIMEOUT_SECONDS": "5"})
        assert settings.read_timeout_seconds == 5

    def test_one_option_set_two_ways_to_different_values_is_an_error(self, monkeypatch):
        monkeypatch.setenv("AIRFLOW__AIRFLOW_POLICIES__OPA_URL", "http://new:1")
        with (
            pytest.warns(FutureWarning),
            pytest.raises(ConfigurationError, match="AIRFLOW__AIRFLOW_POLICIES__OPA_URL and AIRFLOW_POLICIES_OPA_URL"),
        ):
            load_settings(environ={"AIRFLOW_POLICIES_OPA_URL": "http://old:1"})

    def test_the_same_value_both_ways_is_accepted(self, monkeypatch):
        monkeypatch.setenv("AIRFLOW__AIRFLOW_POLICIES__OPA_URL", "http://same:1")
        with pytest.warns(FutureWarning):
            assert load_settings(environ={"AIRFLOW_POLICIES_OPA_URL": "http://same:1"}).opa_url.host == "same"

    def test_bad_old_variable_is_named(self):
        with pytest.warns(FutureWarning), pytest.raises(ConfigurationError, match=r"\(AIRFLOW_POLICIES_OPA_URL\)"):
            load_settings(environ={"AIRFLOW_POLICIES_OPA_URL": "not a url"})

    def test_unknown_key_in_file_is_refused(self, tmp_path: Path):
        """A typo in the config file is an error, not silently ignored."""
        config = tmp_path / "c.yaml"
        config.write_text("opa_ulr: http://x\n")
        with pytest.warns(FutureWarning), pytest.raises(ConfigurationError, match="opa_ulr"):
            load_settings(config, environ={})

    @pytest.mark.parametrize("content", ["- a list\n", "key: [unclosed\n"])
    def test_malformed_file_is_refused(self, tmp_path: Path, content: str):
        """A config file that is not a YAML mapping is an error naming the file."""
        config = tmp_path / "c.yaml"
        config.write_text(content)
        with pytest.raises(ConfigurationError, match=str(config)):
            load_settings(config, environ={})

    def test_missing_file_is_refused(self, tmp_path: Path):
        with pytest.raises(ConfigurationError, match="cannot read"):
            load_settings(tmp_path / "absent.yaml", environ={})


class TestProviderInfo:
    def test_valid_for_airflow(self):
        """The provider info passes the schema Airflow's providers manager validates it against."""
        schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
        jsonschema.validate(get_provider_info(), schema)

    def test_every_setting_is_an_option_with_its_description_and_example(self):
        options = config_options()
        assert set(options) == set(Settings.model_fields)
        assert all(o["description"] and o["example"] is not None for o in options.values())
        assert options["opa_token"]["sensitive"] is True
        assert (options["read_timeout_seconds"]["type"], options["max_input_bytes"]["type"]) == ("float", "integer")

    def test_defaults_read_back_as_the_model_defaults(self):
        """What Airflow reports as an option's default validates to the model's own default."""
        for name, option in config_options().items():
            if option["default"] is None:
                continue
            text = option["default"].replace("{{", "{").replace("}}", "}").replace("%%", "%")
            parsed = json.loads(text) if text[:1] in "[{" else text
            rebuilt = Settings.model_validate({name: parsed})
            assert getattr(rebuilt, name) == getattr(Settings(), name), name
