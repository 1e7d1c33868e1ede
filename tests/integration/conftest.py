"""Integration fixtures: the real OPA binary with the shipped rules and the example registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_policies.opa_server import local_opa
from tests.conftest import EXAMPLE_REGISTRY, EXAMPLE_ROLLOUT

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(item.fspath).resolve().parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def opa_url() -> Iterator[str]:
    """Base URL of a real OPA serving rego/, examples/registry.yaml and examples/rollout.yaml on loopback."""
    with local_opa(EXAMPLE_REGISTRY, rollout=EXAMPLE_ROLLOUT) as url:
        yield url


@pytest.fixture
def registry_path() -> Path:
    return EXAMPLE_REGISTRY
