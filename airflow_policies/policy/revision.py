"""Where the policy's data lives in OPA's data document, and the revision that names what a decision was made by."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["META_DATA_PATH", "REGISTRY_DATA_PATH", "ROLLOUT_DATA_PATH", "policy_revision"]

#: Where the registry, the rollout and the revision live in OPA's data document.
REGISTRY_DATA_PATH = "airflow_policies.registry"
ROLLOUT_DATA_PATH = "airflow_policies.rollout"
META_DATA_PATH = "airflow_policies.meta"


def policy_revision(rule_dirs: list[Path], data: list[bytes]) -> str:
    """``sha256:`` of the rule files (not their tests) and the data documents: what a decision was made by."""
    digest = hashlib.sha256()
    for rules in rule_dirs:
        for path in sorted(rules.rglob("*.rego")):
            if not path.name.endswith("_test.rego"):
                digest.update(str(path.relative_to(rules)).encode() + b"\0" + path.read_bytes() + b"\0")
    for document in data:
        digest.update(document + b"\0")
    return f"sha256:{digest.hexdigest()}"
