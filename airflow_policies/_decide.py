"""The one decision path every enforcement point shares: settings, OPA client and breaker, read once.

Everything the decision trusts (settings, the bundle -> team mapping, where the breaker state lives, the
deployment facts) is read by :func:`warm`, which the policy module calls when Airflow loads it: before any
DAG file runs in that process or in the children it forks, so DAG code that rewrites ``os.environ`` cannot
change them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from typing import Any

from airflow.configuration import conf

from airflow_policies._breaker import CircuitBreaker
from airflow_policies._config import settings
from airflow_policies._input import airflow_info
from airflow_policies._opa import OpaEvaluator
from airflow_policies._team import read_bundle_teams
from airflow_policies.document import BundleInfo, InputDocument
from airflow_policies.verdict import DecisionRecord, judge

__all__ = ["bundle_info", "bundle_info_from_db", "decide", "warm"]


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


def warm() -> None:
    """Read everything the decision trusts, now. An invalid configuration raises, naming the field."""
    _bundle_teams()
    _breaker()
    airflow_info()


def bundle_info(bundle_name: str | None) -> BundleInfo:
    """The bundle and its team from Airflow's bundle configuration (or ``bundle_teams``), read at start."""
    return BundleInfo(name=bundle_name, team=_bundle_teams().get(bundle_name) if bundle_name else None)


def bundle_info_from_db(bundle_name: str | None, session: Any) -> BundleInfo:  # noqa: ANN401 - a SQLAlchemy session
    """The bundle and its team as the metadata DB records them (``multi_team`` on), else as :func:`bundle_info`.

    Uses the caller's session: passing it keeps ``provide_session`` from opening (and committing) one.
    """
    from airflow.models.dagbundle import DagBundleModel

    if bundle_name and conf.getboolean("core", "multi_team", fallback=False):
        return BundleInfo(name=bundle_name, team=DagBundleModel.get_team_name(bundle_name, session=session))
    return bundle_info(bundle_name)


def decide(document: InputDocument) -> DecisionRecord:
    """Ask OPA about one document, with this deployment's failure mode, breaker and decision log."""
    current = settings()
    return judge(
        document,
        _evaluator().evaluate,
        failure_mode=current.failure_mode_at(document.enforcement_point),
        decision_log=current.decision_log,
        breaker=_breaker(),
        max_input_bytes=current.max_input_bytes,
    )
