"""What one process can read of the others on this host: real processes, real /proc."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from airflow_policies.local.isolation import as_own_user
from airflow_policies.posture import sources

SECRET = "postgresql://airflow:hunter2@db/airflow"


@contextmanager
def _process(env: dict[str, str], *args: str, user: int | None = None) -> Iterator[int]:
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", *args], env=env, user=user, group=user
    )
    time.sleep(0.2)
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


def test_another_process_holding_a_secret_is_found_by_name_never_by_value():
    env = {"PATH": os.environ["PATH"], "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": SECRET, "AIRFLOW_CONN__TEAM_B___X": "y"}
    with _process(env) as pid:
        (found,) = [p for p in sources.foreign_process_secrets() if p.pid == pid]
    assert found.variables == ("AIRFLOW_CONN__TEAM_B___X", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    assert found.describe().startswith(f"/proc/{pid}/environ (python") and SECRET not in found.describe()


def test_a_process_holding_only_what_this_one_holds_is_not_a_finding():
    env = {"PATH": os.environ["PATH"], "AIRFLOW__CORE__FERNET_KEY": "same"}
    with _process(env) as pid:
        found = sources.foreign_process_secrets({"AIRFLOW__CORE__FERNET_KEY": "same"})
    assert pid not in {p.pid for p in found}


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the reader as another Unix user")
def test_another_unix_users_process_is_not_readable():
    """The reader runs as its own Unix user (as the sandbox's isolated workers do): the kernel refuses it root's
    environment, so nothing is found there."""
    env = {"PATH": os.environ["PATH"], "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": SECRET}
    probe = "from airflow_policies.posture import sources; print([p.pid for p in sources.foreign_process_secrets()])"
    code = Path(sources.__file__).resolve().parents[1]
    keep = Path(tempfile.mkdtemp(prefix="airflow-policies-mounts-"))
    command = as_own_user([sys.executable, "-c", probe], 20099, [Path(sys.prefix), Path(sys.base_prefix), code], keep)
    try:
        with _process(env) as pid:
            as_other_user = subprocess.run(
                command, env={**os.environ, "HOME": "/tmp"}, capture_output=True, text=True, check=True, cwd="/tmp"
            ).stdout
            as_root = [p.pid for p in sources.foreign_process_secrets()]
    finally:
        shutil.rmtree(keep, ignore_errors=True)
    assert pid in as_root
    assert json.loads(as_other_user.strip().splitlines()[-1]) == []


def test_a_password_on_a_command_line_is_found():
    with _process({"PATH": os.environ["PATH"]}, "redis://:hunter2@127.0.0.1:6379/0") as pid:
        found = sources.command_line_passwords()
    assert f"/proc/{pid}/cmdline (python3)" in found or any(entry.startswith(f"/proc/{pid}/") for entry in found)
    assert not any("hunter2" in entry for entry in found)


@pytest.mark.parametrize(
    ("name", "secret"),
    [("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", True), ("AIRFLOW__TEAM_A___CELERY__BROKER_URL", True),
     ("AIRFLOW__API_AUTH__JWT_SECRET_CMD", True), ("AIRFLOW_CONN_WAREHOUSE", True), ("AIRFLOW_VAR__TEAM_B___K", True),
     ("AIRFLOW__CORE__EXECUTOR", False), ("AIRFLOW_HOME", False), ("PATH", False)],
)  # fmt: skip
def test_which_variables_are_secrets(name, secret):
    assert sources.secret_variable(name) is secret


def test_whether_opa_takes_writes_without_writing(tmp_path):
    """The project's local OPA refuses writes (its authorization policy); a bare `opa run --server` takes them;
    an OPA whose bundle owns the path refuses them by itself; an OPA that is not there is not a finding."""
    from airflow_policies._paths import opa_binary
    from airflow_policies.local.net import free_loopback_port, stop
    from airflow_policies.local.opa_server import local_opa
    from tests.conftest import EXAMPLE_REGISTRY

    with local_opa(EXAMPLE_REGISTRY) as url:
        assert sources.opa_writes(url, "airflow_policies").accepted is False
    bundle = tmp_path / "bundle"
    (bundle / "airflow_policies" / "registry").mkdir(parents=True)
    (bundle / "airflow_policies" / "registry" / "data.json").write_text("{}")
    (bundle / ".manifest").write_text('{"roots": ["airflow_policies"]}')
    for arguments, accepted in (([str(EXAMPLE_REGISTRY)], True), (["--bundle", str(bundle)], False)):
        port = free_loopback_port()
        command = [str(opa_binary()), "run", "--server", "--disable-telemetry", "--addr", f"127.0.0.1:{port}"]
        process = subprocess.Popen([*command, *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while (probe := sources.opa_writes(f"http://127.0.0.1:{port}", "airflow_policies")).accepted is None:
                assert time.monotonic() < deadline, probe
                time.sleep(0.1)
        finally:
            stop(process)
        assert probe.accepted is accepted, probe
    unreachable = sources.opa_writes("http://127.0.0.1:9", "airflow_policies")
    assert (unreachable.reached, unreachable.accepted) == (False, None)
    assert unreachable.answer.startswith("unreachable")
