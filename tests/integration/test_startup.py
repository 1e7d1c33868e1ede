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
    sandbox.extra_env["AIRFLOW_POLICIES_READ_TIMEOUT_SECONDS"] = "-5"
    result = sandbox.airflow("version", check=False)
    assert result.returncode != 0
    assert "read_timeout_seconds (AIRFLOW_POLICIES_READ_TIMEOUT_SECONDS)" in result.stderr


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
