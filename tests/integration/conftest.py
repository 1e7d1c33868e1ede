"""Integration fixtures: the real OPA binary with the shipped rules and the example registry."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

from airflow_policies.local.opa_server import local_opa
from airflow_policies.local.testing import reload_configuration
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


HEADER = """
import pendulum
from airflow.sdk import DAG, Asset, TaskGroup, task
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
START = pendulum.datetime(2026, 1, 1, tz="UTC")
"""

Parse = Callable[..., DagBag]


@pytest.fixture
def parse(opa_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Parse:
    """Write DAG files into a bundle folder and parse it the way the DAG processor does."""

    def _parse(
        files: dict[str, str],
        bundle: str = "team_a_dags",
        team: str | None = "team_a",
        url: str = opa_url,
        env: dict[str, str] | None = None,
    ) -> DagBag:
        root = tmp_path / bundle
        root.mkdir(exist_ok=True)
        for name, body in files.items():
            (root / name).write_text(HEADER + textwrap.dedent(body))
        config = [
            {
                "name": bundle,
                "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": str(root)},
                **({"team_name": team} if team else {}),
            }
        ]
        monkeypatch.setenv("AIRFLOW__CORE__MULTI_TEAM", "True")
        monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor;team_a=LocalExecutor;team_b=LocalExecutor")
        monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(config))
        monkeypatch.setenv("AIRFLOW__AIRFLOW_POLICIES__OPA_URL", url)
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        reload_configuration()
        return DagBag(dag_folder=root, bundle_path=root, bundle_name=bundle, safe_mode=False)

    yield _parse
    reload_configuration()
