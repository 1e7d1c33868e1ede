"""Policy distribution with OPA's own bundle service: `airflow-policies bundle build` (real `opa build`,
signed), a local HTTP bundle server, and two real OPA replicas polling it. A new revision reaches both;
a bundle with a bad signature, a tampered file or broken Rego is refused and each replica keeps serving
its last good revision; a replica restarted mid-run comes back on the newest one. Every decision names the
bundle revision that made it."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from airflow_policies._config import load_settings
from airflow_policies._paths import opa_binary
from airflow_policies.decision.opa_client import OpaEvaluator
from airflow_policies.local.net import free_loopback_port
from airflow_policies.local.opa_server import local_bundle_server, opa_replica
from airflow_policies.policy.bundle import BUNDLE_NAME, build_bundle, new_signing_keys, replica_config, replica_status
from tests.conftest import EXAMPLE_REGISTRY, EXAMPLE_ROLLOUT
from tests.integration.test_fork_safety import _document

POLL_SECONDS = 1


def _wait(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.2)


class Replica:
    """One OPA replica (`opa_replica`) that the test can stop and start again on the same port."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log, self.port = config, log, free_loopback_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._running: contextlib.ExitStack | None = None

    def start(self) -> None:
        self._running = contextlib.ExitStack()
        self._running.enter_context(opa_replica(self.config, port=self.port, log=self.log))

    def stop(self) -> None:
        if self._running is not None:
            self._running.close()
            self._running = None

    def revision(self) -> str | None:
        try:
            return replica_status(self.url).revision
        except Exception:
            return None


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[dict]:
    served = tmp_path / "served"
    (served / "bundles").mkdir(parents=True)
    server = contextlib.ExitStack()
    server_url = server.enter_context(local_bundle_server(served))
    private, public = new_signing_keys(tmp_path, "signing")
    config = tmp_path / "opa-replica.yaml"
    settings = replica_config(
        server_url, public_key=public, min_delay_seconds=POLL_SECONDS,
        max_delay_seconds=POLL_SECONDS,
    )  # fmt: skip
    config.write_text(yaml.safe_dump(settings))
    replicas = [Replica(config, tmp_path / f"replica{i}.log") for i in (1, 2)]
    try:
        yield {"tmp": tmp_path, "served": served / "bundles" / f"{BUNDLE_NAME}.tar.gz", "key": private,
               "replicas": replicas}  # fmt: skip
    finally:
        for replica in replicas:
            replica.stop()
        server.close()


def _publish(setup: dict, bundle: Path) -> None:
    staged = setup["served"].with_suffix(".tmp")
    shutil.copyfile(bundle, staged)
    staged.replace(setup["served"])  # atomically, as a real bundle server would


def _registry_with(tmp: Path, name: str, connection: str) -> Path:
    registry = yaml.safe_load(EXAMPLE_REGISTRY.read_text())
    registry["teams"]["team_a"]["connections"].append(connection)
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(registry))
    return path


def _rewrite(bundle: Path, target: Path, change: Callable[[str, bytes], bytes]) -> None:
    """Copy a bundle, changing file contents but keeping its .signatures.json: a tampered bundle."""
    with tarfile.open(bundle) as source, tarfile.open(target, "w:gz") as out:
        for member in source.getmembers():
            data = change(member.name, source.extractfile(member).read())
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))


def test_signed_bundles_reach_every_replica_and_bad_ones_are_refused(setup):
    tmp, replicas = setup["tmp"], setup["replicas"]
    first = build_bundle(EXAMPLE_REGISTRY, tmp / "v1.tar.gz", rollout=EXAMPLE_ROLLOUT, signing_key=setup["key"],
                         key_id=BUNDLE_NAME)  # fmt: skip
    _publish(setup, tmp / "v1.tar.gz")
    for replica in replicas:
        replica.start()
    _wait(lambda: all(r.revision() == first for r in replicas))
    status = replica_status(replicas[0].url)
    assert (status.healthy, status.bundle_active, status.roots) == (True, True, [BUNDLE_NAME])

    # The revision is part of every decision.
    evaluator = OpaEvaluator(load_settings(environ={}, opa_url=replicas[1].url))
    assert evaluator.evaluate(_document("team_a__x", "t")).policy_revision == f"{BUNDLE_NAME}@{first}"
    # ... and of the revision the DAG-processor manager keys its verdicts by (the bundle's, and its data's digest).
    probed_first = evaluator.revision()
    assert probed_first.startswith(f"{BUNDLE_NAME}@{first};data:")

    # A new revision reaches both.
    second = build_bundle(_registry_with(tmp, "v2", "team_a_lake"), tmp / "v2.tar.gz", signing_key=setup["key"],
                          key_id=BUNDLE_NAME)  # fmt: skip
    assert second != first
    _publish(setup, tmp / "v2.tar.gz")
    _wait(lambda: all(r.revision() == second for r in replicas))
    assert evaluator.revision().startswith(f"{BUNDLE_NAME}@{second};data:")
    assert evaluator.revision().split(";data:")[1] != probed_first.split(";data:")[1]  # its registry changed

    # Refused: signed with another key; a file changed after signing; broken Rego (signed with the right key).
    other_key, _ = new_signing_keys(tmp, "attacker")
    build_bundle(_registry_with(tmp, "evil", "team_b_warehouse"), tmp / "evil.tar.gz", signing_key=other_key,
                 key_id=BUNDLE_NAME)  # fmt: skip
    _rewrite(
        tmp / "v2.tar.gz",
        tmp / "tampered.tar.gz",
        lambda name, data: data.replace(b'"team_a_lake"', b'"team_b_crm"') if name.endswith("data.json") else data,
    )
    broken = _broken_rego_bundle(tmp, setup["key"])
    for bad, reason in (
        (tmp / "evil.tar.gz", "signature"),
        (tmp / "tampered.tar.gz", "digest"),
        (broken, "rego_parse_error"),
    ):
        _publish(setup, bad)
        _wait(lambda reason=reason: all(reason in r.log.read_text() for r in replicas), timeout=20)
        assert [r.revision() for r in replicas] == [second, second]
        for replica in replicas:
            replica.log.write_text("")  # the next case must show its own refusal

    # A replica restarted mid-run comes back on the newest good revision, which the other one also takes.
    replicas[0].stop()
    third = build_bundle(_registry_with(tmp, "v3", "team_a_archive"), tmp / "v3.tar.gz", signing_key=setup["key"],
                         key_id=BUNDLE_NAME)  # fmt: skip
    _publish(setup, tmp / "v3.tar.gz")
    _wait(lambda: replicas[1].revision() == third)
    down = _status(replicas, third)
    assert down.returncode == 1
    assert (
        f"{replicas[0].url}  UNREACHABLE" in down.stdout
        and f"{replicas[1].url}  active  revision {third}" in down.stdout
    )
    replicas[0].start()
    _wait(lambda: replicas[0].revision() == third)
    assert _status(replicas, third).returncode == 0
    behind = _status(replicas, second)
    assert behind.returncode == 1 and behind.stdout.count("(BEHIND)") == 2


def _status(replicas: list[Replica], expect: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "airflow_policies.cli", "bundle", "status", *(r.url for r in replicas)]
    return subprocess.run([*command, "--expect", expect], capture_output=True, text=True, timeout=60)


def _broken_rego_bundle(tmp: Path, key: Path) -> Path:
    """A bundle `opa build` would refuse to make: broken Rego, signed with the right key by `opa sign`."""
    folder = tmp / "broken"
    (folder / "airflow_policies" / "main").mkdir(parents=True)
    (folder / "airflow_policies" / "main" / "main.rego").write_text("package airflow_policies.main\n\ndecision := {\n")
    (folder / ".manifest").write_text(json.dumps({"revision": "broken", "roots": [BUNDLE_NAME]}))
    subprocess.run(
        [str(opa_binary()), "sign", "--signing-key", str(key), "--bundle", ".", "--claims-file", str(_claims(tmp))],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    target = tmp / "broken.tar.gz"
    with tarfile.open(target, "w:gz") as out:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                out.add(path, arcname="/" + str(path.relative_to(folder)))
    return target


def _claims(tmp: Path) -> Path:
    claims = tmp / "claims.json"
    claims.write_text(json.dumps({"keyid": BUNDLE_NAME}))
    return claims


def test_the_demo_runs_in_bundle_mode(tmp_path):
    """`demo --bundle-mode`: the policy reaches OPA as a signed bundle from a bundle server, and the demo's
    decisions are the same as with a locally loaded policy."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow_policies.cli", "demo", "--bundle-mode", "--workdir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OPA verified and activated it" in result.stdout
    assert "takeover.py           REJECTED  dag_ids.namespace" in result.stdout
    assert "WARNED" in result.stdout and "legacy_export.py      ADMITTED" in result.stdout
    # The Kubernetes example: a pod_override in team B's namespace, with team B's Secret.
    kubernetes = re.search(r"team_a_pods +team_a +pod_in_team_b\.py +REJECTED +(.*)", result.stdout)
    assert kubernetes and kubernetes[1].startswith("kubernetes.foreign_namespace"), result.stdout
    assert "kubernetes.foreign_secret" in result.stdout
    assert "Bundle loaded and activated successfully" in (tmp_path / "demo" / "bundle-mode" / "opa.log").read_text()
