"""``airflow-policies bundle``: package the rules and data as a standard OPA bundle, and read a replica's status.

A bundle holds the rule library (without its tests, samples and suites), team layers, and the data OPA
needs under ``data.airflow_policies``: the registry (validated), the rollout (validated against the
rules) and ``meta.revision``. ``opa build`` writes it, with a ``.manifest`` whose revision is the
content hash of all of that (or a given one) and whose root is ``airflow_policies``; with a signing key,
``opa build`` signs it and OPA verifies it with the public key before activating it.

Production distribution is OPA's own bundle service: every replica polls an HTTP server (or reads a
file) for the bundle, verifies it, and keeps serving its last good revision when a new one is refused
(``docs/bundles.md``). Each decision then carries the bundle revision that made it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import requests
from pydantic import BaseModel, ConfigDict

from airflow_policies._paths import opa_binary
from airflow_policies.exceptions import ConfigurationError, OpaUnavailableError
from airflow_policies.policy.registry import load_registry
from airflow_policies.policy.repository import PolicySources, as_sources
from airflow_policies.policy.revision import policy_revision
from airflow_policies.policy.rollout import load_rollout
from airflow_policies.policy.team_layers import validate_team_layers

__all__ = ["BUNDLE_NAME", "ReplicaStatus", "build_bundle", "new_signing_keys", "replica_config", "replica_status"]

#: The bundle's name in OPA's configuration (``bundles.<name>``) and the root it owns.
BUNDLE_NAME = "airflow_policies"
_NOT_SHIPPED = ("_test.rego", "suite.yaml")


def _copy_rules(source: Path, target: Path) -> None:
    for path in sorted(source.rglob("*.rego")):
        relative = path.relative_to(source)
        if path.name.endswith(_NOT_SHIPPED) or "samples" in relative.parts:
            continue
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / relative)


def _write_data(staging: Path, name: str, data: object) -> bytes:
    encoded = json.dumps(data, sort_keys=True).encode()
    folder = staging / BUNDLE_NAME / name  # a data.json file's folder is its path in the data document
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.json").write_bytes(encoded)
    return encoded


def build_bundle(
    registry: Path,
    output: Path,
    *,
    rego: Path | PolicySources | None = None,
    rollout: Path | None = None,
    team_rules: Path | None = None,
    revision: str | None = None,
    signing_key: Path | None = None,
    signing_alg: str = "RS256",
    key_id: str | None = None,
    wasm: bool = False,
) -> str:
    """Build the bundle into ``output`` and return its revision; with ``wasm``, the rules compiled to OPA's
    Wasm target (``/policy.wasm``, for ``engine: wasm``) beside the same data.

    ``rego`` is a rule directory (default: the shipped library) or a policy repository's sources: then the one
    bundle holds the library and the repository's own rules.

    Raises:
        ConfigurationError: an input is invalid (named), or ``opa build`` refuses the rules (its message).
    """
    sources = as_sources(rego)
    registry_data = load_registry(registry).as_data()
    known = {d.id for d in sources.rule_declarations()}
    rollout_data = load_rollout(rollout, known).model_dump(mode="json", exclude_none=True) if rollout else {}
    policy_dirs = [folder.resolve() for folder in sources.dirs]
    if team_rules is not None:
        validate_team_layers(team_rules)
        policy_dirs.append(team_rules)
    with tempfile.TemporaryDirectory(prefix="airflow-policies-bundle-") as work:
        staging = Path(work, "bundle")
        for index, directory in enumerate(policy_dirs):
            _copy_rules(directory, staging / f"policy{index}")
        registry_json = _write_data(staging, "registry", registry_data)
        rollout_json = _write_data(staging, "rollout", rollout_data)
        revision = revision or policy_revision(policy_dirs, [registry_json, rollout_json])
        _write_data(staging, "meta", {"revision": revision})
        (staging / ".manifest").write_text(json.dumps({"revision": revision, "roots": [BUNDLE_NAME]}))
        # Built from inside the staging folder, so the bundle's file paths carry no temporary path.
        command = [str(opa_binary()), "build", "--bundle", ".", "--output", str(output.resolve())]
        command += ["--revision", revision]
        if wasm:
            command += ["--target", "wasm", "--entrypoint", "airflow_policies/main/decision"]
        if signing_key is not None:
            if not signing_key.is_file():
                raise ConfigurationError(f"signing key {signing_key} does not exist")
            command += ["--signing-key", str(signing_key), "--signing-alg", signing_alg]
            if key_id:
                claims = Path(work, "claims.json")
                claims.write_text(json.dumps({"keyid": key_id}))
                command += ["--claims-file", str(claims)]
        result = subprocess.run(command, cwd=staging, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            problem = (result.stderr or result.stdout).strip()[-3000:]
            raise ConfigurationError(f"opa build refused the bundle: {problem}")
    return revision


def new_signing_keys(folder: Path, name: str = "signing") -> tuple[Path, Path]:
    """A new RSA key pair as PEM files ``<name>.pem`` (private, signs bundles) and ``<name>.pub.pem``
    (public, given to the replicas); for the demo and tests, as production keys come from your PKI."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = folder / f"{name}.pem", folder / f"{name}.pub.pem"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public


def replica_config(
    server_url: str,
    *,
    resource: str = f"bundles/{BUNDLE_NAME}.tar.gz",
    public_key: Path | None = None,
    key_id: str = BUNDLE_NAME,
    signing_alg: str = "RS256",
    min_delay_seconds: int = 10,
    max_delay_seconds: int = 20,
) -> dict[str, object]:
    """The OPA configuration (``opa run --server --config-file``) of a replica that polls ``server_url`` for the
    bundle and, given ``public_key``, activates only bundles signed with its private key."""
    bundle: dict[str, object] = {
        "service": "policy_bundles",
        "resource": resource,
        "polling": {"min_delay_seconds": min_delay_seconds, "max_delay_seconds": max_delay_seconds},
    }
    config: dict[str, object] = {
        "services": {"policy_bundles": {"url": server_url.rstrip("/")}},
        "bundles": {BUNDLE_NAME: bundle},
    }
    if public_key is not None:
        bundle["signing"] = {"keyid": key_id}
        config["keys"] = {key_id: {"algorithm": signing_alg, "key": public_key.read_text()}}
    return config


class ReplicaStatus(BaseModel):
    """What one OPA replica serves: whether its bundle is active, and which revision."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    healthy: bool
    bundle_active: bool
    revision: str | None
    roots: list[str] = []


def replica_status(url: str, bundle: str = BUNDLE_NAME, timeout: float = 2.0) -> ReplicaStatus:
    """Ask a replica for its health and the revision of ``bundle`` it is serving.

    Raises:
        OpaUnavailableError: the replica cannot be reached.
    """
    url = url.rstrip("/")
    try:
        healthy = requests.get(f"{url}/health", timeout=timeout).status_code == 200
        active = requests.get(f"{url}/health", params={"bundles": "true"}, timeout=timeout).status_code == 200
        response = requests.get(f"{url}/v1/data/system/bundles/{bundle}/manifest", timeout=timeout)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise OpaUnavailableError(f"OPA replica at {url} cannot be reached: {exc}") from None
    manifest = response.json().get("result") or {}
    return ReplicaStatus(
        url=url,
        healthy=healthy,
        bundle_active=active,
        revision=manifest.get("revision"),
        roots=manifest.get("roots") or [],
    )
