"""Where the shipped Rego library, example registry and OPA binary are."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from airflow_policies.exceptions import ConfigurationError

__all__ = [
    "drop_in",
    "example_dags",
    "example_kubernetes_dags",
    "example_registry",
    "opa_binary",
    "rego_library",
]

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent


def _first_existing(*candidates: Path) -> Path | None:
    return next((c for c in candidates if c.exists()), None)


def rego_library() -> Path:
    """The rule library: packaged into the wheel, or the checkout's ``rego/``."""
    return _shipped("rego", "the airflow-policies rego library")


def _shipped(relative: str, what: str) -> Path:
    found = _first_existing(_PACKAGE / relative, _CHECKOUT / relative)
    if found is None:
        raise ConfigurationError(f"{what} is missing from this installation")
    return found


def example_registry() -> Path:
    """The two-team example registry."""
    return _shipped("examples/registry.yaml", "the example registry")


def example_rollout() -> Path:
    """The example rollout: a rule in warn for one team, one exception."""
    return _shipped("examples/rollout.yaml", "the example rollout")


def example_dags() -> Path:
    """The example DAG bundles (one folder per bundle)."""
    return _shipped("examples/dags", "the example DAGs")


def example_kubernetes_dags() -> Path:
    """The Kubernetes example DAG bundles (one folder per bundle; they need the cncf.kubernetes provider)."""
    return _shipped("examples/kubernetes", "the Kubernetes example DAGs")


def drop_in() -> Path:
    """The drop-in ``airflow_local_settings.py``."""
    return _shipped("cluster_policies/airflow_local_settings.py", "the drop-in airflow_local_settings.py")


def opa_binary() -> Path:
    """The OPA binary: ``$AIRFLOW_POLICIES_OPA_BINARY``, the checkout's ``.tools/bin/opa``, or ``opa`` on PATH."""
    configured = os.environ.get("AIRFLOW_POLICIES_OPA_BINARY")
    if configured:
        path = Path(configured)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ConfigurationError(f"AIRFLOW_POLICIES_OPA_BINARY={configured} is not an executable file")
        return path
    local = _CHECKOUT / ".tools" / "bin" / "opa"
    if local.is_file():
        return local
    on_path = shutil.which("opa")
    if on_path:
        return Path(on_path)
    raise ConfigurationError(
        "no OPA binary found: run scripts/install-tools.sh, put 'opa' on PATH, or set AIRFLOW_POLICIES_OPA_BINARY"
    )


def postgres_bin() -> Path:
    """Directory of PostgreSQL's server programs: ``.tools/postgres-bin`` (scripts/install-postgres.sh) or PATH."""
    recorded = _CHECKOUT / ".tools" / "postgres-bin"
    if recorded.is_file():
        return Path(recorded.read_text().strip())
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise ConfigurationError("no PostgreSQL server programs found: run scripts/install-postgres.sh")
