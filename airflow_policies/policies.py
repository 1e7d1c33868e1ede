"""The Airflow cluster-policy hooks (pluggy project ``airflow.policy``).

Registered by the ``airflow.policy`` entry point of this package, or by the drop-in
``cluster_policies/airflow_local_settings.py``. ``dag_policy`` makes exactly one OPA request per DAG and
applies the decision to every task; no task-level hook is needed, so none makes a network call.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

from airflow.exceptions import AirflowClusterPolicyViolation
from airflow.policies import hookimpl

from airflow_policies._config import settings
from airflow_policies._enforce import enforce
from airflow_policies._input import airflow_info, build_input
from airflow_policies._opa import OpaEvaluator
from airflow_policies._team import calling_dagbag, enforcement_point, read_bundle_teams
from airflow_policies.document import BundleInfo
from airflow_policies.exceptions import PolicyError

if TYPE_CHECKING:
    from airflow.sdk import DAG

__all__ = ["dag_policy"]


@cache
def _evaluator() -> OpaEvaluator:
    return OpaEvaluator(settings())


@cache
def _bundle_teams() -> Mapping[str, str | None]:
    return read_bundle_teams(settings())


# Read everything the decision trusts now, when Airflow loads the policy: before any DAG file runs (the
# DAG processor forks its children, and a worker imports Airflow, before parsing), so DAG code that
# rewrites os.environ cannot change a bundle's team or the deployment facts. An invalid configuration
# stops Airflow here, with a message naming the field.
_bundle_teams()
airflow_info()


@hookimpl
def dag_policy(dag: DAG) -> None:
    """Ask OPA once about ``dag``: raise one violation listing every broken rule, or apply mutations."""
    try:
        bag = calling_dagbag()
        bundle_name = bag.bundle_name if bag is not None else None
        bundle = BundleInfo(name=bundle_name, team=_bundle_teams().get(bundle_name) if bundle_name else None)
        document = build_input(dag, bundle=bundle, enforcement_point=enforcement_point())
        decision = _evaluator().evaluate(document)
        enforce(dag, document, decision)
    except PolicyError as exc:
        raise AirflowClusterPolicyViolation(
            f"DAG '{dag.dag_id}' was rejected because airflow-policies could not decide on it (fail closed): {exc}"
        ) from None
