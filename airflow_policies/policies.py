"""The Airflow cluster-policy hooks (pluggy project ``airflow.policy``).

Registered by the ``airflow.policy`` entry point of this package, or by the drop-in
``cluster_policies/airflow_local_settings.py``. ``dag_policy`` makes at most one OPA request per DAG and
applies the decision to every task; no task-level hook is needed, so none makes a network call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

from airflow.policies import hookimpl

from airflow_policies import _dag_warnings
from airflow_policies._breaker import CircuitBreaker
from airflow_policies._config import settings
from airflow_policies._enforce import enforce
from airflow_policies._input import airflow_info, build_input
from airflow_policies._opa import OpaEvaluator
from airflow_policies._team import calling_dagbag, enforcement_point, read_bundle_teams
from airflow_policies.document import BundleInfo
from airflow_policies.verdict import judge

if TYPE_CHECKING:
    from airflow.sdk import DAG

__all__ = ["dag_policy"]


@cache
def _evaluator() -> OpaEvaluator:
    return OpaEvaluator(settings())


@cache
def _breaker() -> CircuitBreaker:
    # One state file per OPA endpoint, shared by every process of this host (and every forked parse child).
    endpoint = hashlib.sha256(_evaluator().url.encode()).hexdigest()[:16]
    current = settings()
    return CircuitBreaker(current.state_dir / f"breaker-{endpoint}.json", current.breaker_reset_seconds)


@cache
def _bundle_teams() -> Mapping[str, str | None]:
    return read_bundle_teams(settings())


# Read everything the decision trusts now, when Airflow loads the policy: before any DAG file runs (the
# DAG processor forks its children, and a worker imports Airflow, before parsing), so DAG code that
# rewrites os.environ cannot change a bundle's team, the deployment facts or where the breaker state is.
# An invalid configuration stops Airflow here, with a message naming the field.
_bundle_teams()
_breaker()
airflow_info()
_dag_warnings.install()


@hookimpl
def dag_policy(dag: DAG) -> None:
    """Ask OPA once about ``dag``: reject it, or apply the mutations and show the warnings in the UI."""
    bag = calling_dagbag()
    bundle_name = bag.bundle_name if bag is not None else None
    bundle = BundleInfo(name=bundle_name, team=_bundle_teams().get(bundle_name) if bundle_name else None)
    point = enforcement_point()
    document = build_input(dag, bundle=bundle, enforcement_point=point)
    current = settings()
    record = judge(
        document,
        _evaluator().evaluate,
        failure_mode=current.failure_mode_at(point),
        decision_log=current.decision_log,
        breaker=_breaker(),
        max_input_bytes=current.max_input_bytes,
    )
    # Raises AirflowClusterPolicyViolation (Airflow's import error) when the DAG is not admitted.
    warning = enforce(dag, record)
    if warning is not None:
        _dag_warnings.record(dag.dag_id, warning)
