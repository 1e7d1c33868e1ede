"""Where the shipped Rego library, example registry and OPA binary are."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from airflow_policies.exceptions import ConfigurationError

__all__ = ["example_registry", "opa_binary", "rego_library"]

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent


def _first_existing(*candidates: Path) -> Path | None:
    return next((c for c in candidates if c.exists()), None)


def rego_library() -> Path:
    """The rule library: packaged into the wheel, or the checkout's ``rego/``."""
    found = _first_existing(_PACKAGE / "rego", _CHECKOUT / "rego")
    if found is None:
        raise ConfigurationError("the airflow-policies rego library is missing from this installation")
    return found


def example_registry() -> Path:
    """The two-team example registry."""
    found = _first_existing(_PACKAGE / "examples" / "registry.yaml", _CHECKOUT / "examples" / "registry.yaml")
    if found is None:
        raise ConfigurationError("the example registry is missing from this installation")
    return found


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
