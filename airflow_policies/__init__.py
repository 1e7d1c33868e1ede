"""Policy-as-code team boundaries for multi-team Apache Airflow 3, decided by Open Policy Agent."""

from __future__ import annotations

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:  # noqa: ANN401 - module attribute protocol
    if name == "__version__":
        from importlib.metadata import version

        return version("airflow-policies")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
