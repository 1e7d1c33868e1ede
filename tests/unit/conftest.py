"""Unit tests exercise our modules directly: the installed policy plugin must not ask OPA meanwhile."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from airflow import settings


@pytest.fixture(autouse=True)
def _without_policy_plugin() -> Iterator[None]:
    manager = settings.get_policy_plugin_manager()
    plugin = manager.unregister(name="airflow_policies")
    try:
        yield
    finally:
        if plugin is not None:
            manager.register(plugin, name="airflow_policies")
