"""Run a local OPA on loopback with the rule library and a registry (for ``check``, the demo and tests)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from airflow_policies._paths import opa_binary
from airflow_policies.exceptions import ConfigurationError, OpaUnavailableError
from airflow_policies.local.net import free_loopback_port, stop
from airflow_policies.policy.repository import PolicySources, as_sources
from airflow_policies.policy.revision import META_DATA_PATH, REGISTRY_DATA_PATH, ROLLOUT_DATA_PATH, policy_revision
from airflow_policies.policy.rollout import load_rollout
from airflow_policies.policy.team_layers import validate_team_layers

__all__ = ["SERVED_POLICY_IGNORES", "local_bundle_server", "local_opa", "opa_replica"]

#: What a served policy leaves out of the rule library: rule tests, samples (with their golden inputs) and suites
#: are for CI; the server needs only the rules.
SERVED_POLICY_IGNORES = ("--ignore", "*_test.rego", "--ignore", "samples", "--ignore", "suite.yaml")

_START_TIMEOUT = 30.0
#: OPA's own authorization policy for a local OPA: it answers every read and evaluation, and refuses every write
#: (PUT, PATCH, DELETE of policies or data), so that no process able to reach it (team code included) can
#: rewrite the rules or the registry it decides with. An OPA that gets its policy as a bundle refuses those
#: writes by itself (a bundle owns its roots).
_READ_ONLY = """package system.authz

default allow := false

allow if input.method in {"GET", "POST"}
"""


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigurationError(
                f"OPA exited with code {process.returncode} while loading the policy:\n{log.read_text()[-3000:]}"
            )
        try:
            if requests.get(f"{url}/health?bundles", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise OpaUnavailableError(
        f"OPA at {url} did not become healthy within {_START_TIMEOUT}s; its log ends:\n{log.read_text()[-3000:]}"
    )


@contextmanager
def local_opa(
    registry: Path,
    rego: Path | PolicySources | None = None,
    *,
    rollout: Path | None = None,
    team_rules: Path | None = None,
    port: int | None = None,
    decision_log: Path | None = None,
) -> Iterator[str]:
    """Start ``opa run --server`` on 127.0.0.1 and yield its base URL; stop it on exit.

    Args:
        registry: team registry (YAML or JSON), loaded at ``data.airflow_policies.registry``.
        rego: rule directory, or a policy repository's sources (the library and its own rules); defaults to
            the shipped library.
        rollout: action overrides and exceptions, validated against the rules, loaded at
            ``data.airflow_policies.rollout``.
        team_rules: directory of team layers (``<team>/...rego``), validated to only tighten.
        port: loopback port; a free one by default.
        decision_log: keep OPA's log, with its own decision log (one JSON line per decision), in this file.

    Raises:
        ConfigurationError: the binary is missing, the rollout or a team layer is invalid, or OPA refuses
            the rules or the registry.
    """
    if not registry.is_file():
        raise ConfigurationError(f"registry file {registry} does not exist")
    sources = as_sources(rego)
    policy_dirs = sources.dirs
    if team_rules is not None:
        validate_team_layers(team_rules)
        policy_dirs.append(team_rules)
    rollout_json = b"{}"
    if rollout is not None:
        known = {d.id for d in sources.rule_declarations()}
        rollout_json = load_rollout(rollout, known).model_dump_json(exclude_none=True).encode()
    with tempfile.TemporaryDirectory(prefix="airflow-policies-opa-") as data_dir:
        authz = Path(data_dir, "authz", "read_only.rego")
        authz.parent.mkdir()
        authz.write_text(_READ_ONLY)
        rollout_file = Path(data_dir, "rollout.json")
        rollout_file.write_bytes(rollout_json)
        meta_file = Path(data_dir, "meta.json")
        revision = policy_revision(policy_dirs, [registry.read_bytes(), rollout_json])
        meta_file.write_text(json.dumps({"revision": revision}))
        data = [f"{ROLLOUT_DATA_PATH}:{rollout_file}", f"{META_DATA_PATH}:{meta_file}"]
        # The revision is the policy's: OPA's own authorization is not part of it.
        with _opa_process(registry, [*policy_dirs, authz.parent], data, port, decision_log) as url:
            yield url


@contextmanager
def opa_replica(config: Path, *, port: int | None = None, log: Path | None = None) -> Iterator[str]:
    """Start ``opa run --server --config-file config`` on 127.0.0.1 (an OPA that gets its policy as a bundle,
    see :func:`airflow_policies.policy.bundle.replica_config`), wait until its bundle is active, yield its URL.

    Args:
        config: OPA configuration file (YAML or JSON).
        port: loopback port; a free one by default.
        log: append OPA's log here (kept); a temporary file otherwise.
    """
    url = f"http://127.0.0.1:{port or free_loopback_port()}"
    command = [str(opa_binary()), "run", "--server", "--disable-telemetry", "--addr", url.removeprefix("http://")]
    with _running([*command, "--config-file", str(config)], url, log, keep_log=log is not None):
        yield url


@contextmanager
def _opa_process(
    registry: Path, policy_dirs: list[Path], data: list[str], port: int | None, decision_log: Path | None
) -> Iterator[str]:
    url = f"http://127.0.0.1:{port or free_loopback_port()}"
    command = [
        str(opa_binary()),
        "run",
        "--server",
        "--disable-telemetry",
        "--addr",
        url.removeprefix("http://"),
        "--log-level",
        "info" if decision_log else "error",
        # Reads and evaluations for anyone, writes for no one (_READ_ONLY).
        "--authentication",
        "token",
        "--authorization",
        "basic",
        *SERVED_POLICY_IGNORES,
        *(str(d) for d in policy_dirs),
        f"{REGISTRY_DATA_PATH}:{registry}",
        *data,
    ]
    if decision_log:
        command[2:2] = ["--set", "decision_logs.console=true"]
    with _running(command, url, decision_log, keep_log=decision_log is not None):
        yield url


@contextmanager
def _running(command: list[str], url: str, log: Path | None, *, keep_log: bool) -> Iterator[None]:
    log = log or Path(tempfile.mkstemp(prefix="opa-", suffix=".log")[1])
    with log.open("ab") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        _wait_ready(url, process, log)
        yield
    finally:
        stop(process)
        if not keep_log:
            log.unlink(missing_ok=True)


@contextmanager
def local_bundle_server(directory: Path) -> Iterator[str]:
    """Serve ``directory`` over HTTP on loopback (a stand-in for a real bundle server); yield its base URL."""
    port = free_loopback_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(directory)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            try:
                requests.get(url, timeout=1)
                break
            except requests.RequestException:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise OpaUnavailableError(f"the bundle server on {url} did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
