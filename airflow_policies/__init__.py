"""Policy-as-code team boundaries for multi-team Apache Airflow 3, decided by Open Policy Agent."""

from __future__ import annotations

from typing import Any

# Importing Airflow loads its policy plugins, this package's among them. Doing it before any of our
# modules is imported keeps that plugin load from finding one of them half-initialised.
import airflow  # noqa: F401

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:  # noqa: ANN401 - module attribute protocol
    if name == "__version__":
        from importlib.metadata import version

        return version("airflow-policies")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
