"""Loading the policy into Airflow: the drop-in as a user installs it, and configuration errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec
from tests.conftest import EXAMPLE_DAGS


@pytest.fixture
def sandbox(tmp_path) -> AirflowSandbox:
    return AirflowSandbox(
        home=tmp_path / "home",
        bundles=[BundleSpec("team_a_dags", EXAMPLE_DAGS / "team_a", "team_a")],
        opa_url="http://127.0.0.1:9",
    )


def test_invalid_configuration_stops_airflow_naming_the_field(sandbox):
    """A bad setting makes every Airflow command fail at start, naming the field and its variable."""
    sandbox.extra_env["AIRFLOW__AIRFLOW_POLICIES__READ_TIMEOUT_SECONDS"] = "-5"
    result = sandbox.airflow("version", check=False)
    assert result.returncode != 0
    assert "read_timeout_seconds (AIRFLOW__AIRFLOW_POLICIES__READ_TIMEOUT_SECONDS)" in result.stderr


def test_drop_in_and_entry_point_register_the_hook_once(sandbox):
    """With the package installed and the drop-in copied, Airflow loads the drop-in and holds exactly one
    dag_policy of ours (the entry point's), so each DAG is decided once."""
    probe = (
        "from airflow import settings\n"
        "impls = settings.get_policy_plugin_manager().hook.dag_policy.get_hookimpls()\n"
        "print(sorted(i.plugin_name for i in impls))\n"
        "import airflow_local_settings\n"
        "print(airflow_local_settings.__file__)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], env=sandbox.env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    names, location = result.stdout.strip().splitlines()[-2:]
    assert names == "['airflow_policies']"
    assert location == str(sandbox.home / "config" / "airflow_local_settings.py")


def test_options_are_in_airflow_config_tooling(sandbox):
    """`airflow config` knows the [airflow_policies] options: a value set in airflow.cfg is read back by Airflow
    and decides the policy's settings; an unset option reports the package's default."""
    (sandbox.home / "airflow.cfg").write_text("[airflow_policies]\nread_timeout_seconds = 7.5\n")
    assert sandbox.airflow("config", "get-value", "airflow_policies", "read_timeout_seconds").stdout.strip() == "7.5"
    assert sandbox.airflow("config", "get-value", "airflow_policies", "decision_path").stdout.strip() == (
        "airflow_policies/main/decision"
    )
    listed = sandbox.airflow("config", "list", "--section", "airflow_policies", "--include-descriptions").stdout
    assert "# Time allowed between bytes of OPA's answer once connected." in listed
    probe = "from airflow_policies._config import settings; print(settings().read_timeout_seconds)"
    result = subprocess.run([sys.executable, "-c", probe], env=sandbox.env, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "7.5", result.stderr


def test_invalid_option_in_airflow_cfg_stops_airflow_naming_the_file(sandbox):
    (sandbox.home / "airflow.cfg").write_text("[airflow_policies]\nmax_input_bytes = 12\n")
    result = sandbox.airflow("version", check=False)
    assert result.returncode != 0
    assert f"max_input_bytes ([airflow_policies] max_input_bytes in {sandbox.home / 'airflow.cfg'})" in result.stderr
