"""Which team owns a bundle: the team is always derived from the bundle, never from anything a DAG author writes.

The mapping is Airflow's own bundle configuration (``[core] multi_team`` on) or the ``bundle_teams``
setting, read once by :func:`~airflow_policies.decision.decide.warm` before any DAG file runs; the
server-side points read it from the metadata DB, where no DAG code runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Any

from airflow.configuration import conf

from airflow_policies._config import Settings, settings
from airflow_policies.document.models import BundleInfo
from airflow_policies.exceptions import ConfigurationError

__all__ = ["bundle_info", "bundle_info_from_db", "bundle_teams_from_db", "configured_bundle_teams", "read_bundle_teams"]


def _airflow_bundle_teams() -> dict[str, str | None]:
    """bundle -> team exactly as Airflow reads it (``[dag_processor] dag_bundle_config_list``)."""
    try:
        bundles = conf.getjson("dag_processor", "dag_bundle_config_list") or []
    except Exception as exc:  # Airflow raises its own config errors for malformed JSON
        raise ConfigurationError(f"cannot read [dag_processor] dag_bundle_config_list: {exc}") from None
    if not isinstance(bundles, list):
        raise ConfigurationError("[dag_processor] dag_bundle_config_list must be a JSON list of bundles")
    return {b["name"]: b.get("team_name") for b in bundles if isinstance(b, dict) and "name" in b}


def read_bundle_teams(settings: Settings) -> Mapping[str, str | None]:
    """bundle -> team: Airflow's own bundle configuration when ``[core] multi_team`` is on, otherwise the
    ``bundle_teams`` mapping of our settings. A bundle missing from the mapping has no team.

    Read it once, before any DAG file runs: Airflow's configuration follows ``os.environ``, which DAG
    code can change.
    """
    if conf.getboolean("core", "multi_team", fallback=False):
        return MappingProxyType(_airflow_bundle_teams())
    return MappingProxyType(dict(settings.bundle_teams))


@cache
def configured_bundle_teams() -> Mapping[str, str | None]:
    """:func:`read_bundle_teams` of this process's settings, read once."""
    return read_bundle_teams(settings())


def bundle_info(bundle_name: str | None) -> BundleInfo:
    """The bundle and its team from Airflow's bundle configuration (or ``bundle_teams``), read at start."""
    return BundleInfo(name=bundle_name, team=configured_bundle_teams().get(bundle_name) if bundle_name else None)


def bundle_info_from_db(bundle_name: str | None, session: Any) -> BundleInfo:  # noqa: ANN401 - a SQLAlchemy session
    """The bundle and its team as the metadata DB records them (``multi_team`` on), else as :func:`bundle_info`.

    Uses the caller's session: passing it keeps ``provide_session`` from opening (and committing) one.
    """
    from airflow.models.dagbundle import DagBundleModel

    if bundle_name and conf.getboolean("core", "multi_team", fallback=False):
        return BundleInfo(name=bundle_name, team=DagBundleModel.get_team_name(bundle_name, session=session))
    return bundle_info(bundle_name)


def bundle_teams_from_db(bundle_names: set[str], session: Any) -> dict[str, str | None]:  # noqa: ANN401 - a session
    """bundle -> team for many bundles in one query (``multi_team`` on), else from the configured mapping."""
    from airflow.models.dagbundle import DagBundleModel

    if conf.getboolean("core", "multi_team", fallback=False):
        found = DagBundleModel.get_team_names(sorted(bundle_names), session=session)
        return {name: found.get(name) for name in bundle_names}
    return {name: configured_bundle_teams().get(name) for name in bundle_names}
