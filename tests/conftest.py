"""Shared test set-up.

Airflow reads its configuration when first imported, so the test process gets a private
``AIRFLOW_HOME`` before anything imports airflow.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="airflow-policies-tests-"))
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
for _name in [n for n in os.environ if n.startswith(("AIRFLOW_POLICIES_", "AIRFLOW__AIRFLOW_POLICIES__"))]:
    del os.environ[_name]
# The circuit breaker's state is per host: the tests get their own, so one test's OPA outage does not open
# the breaker of another test (or of a real deployment on this machine).
os.environ["AIRFLOW__AIRFLOW_POLICIES__STATE_DIR"] = str(_HOME / "policy-state")

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = REPO / "examples" / "dags"
EXAMPLE_REGISTRY = REPO / "examples" / "registry.yaml"
EXAMPLE_ROLLOUT = REPO / "examples" / "rollout.yaml"


@pytest.fixture(autouse=True)
def _decision_logs_closed() -> Iterator[None]:
    """Each test's decision-log files are closed after it (the policy keeps them open for the process)."""
    yield
    from airflow_policies.decision.log import close_decision_logs

    close_decision_logs()
