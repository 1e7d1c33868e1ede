"""Which bundle a DAG was parsed from, and which team owns that bundle.

The team is always derived from the bundle, and the bundle from the DagBag that is parsing the file:
never from tags, owner, params, dag_id, fileloc or anything else a DAG author writes.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from airflow.configuration import conf

from airflow_policies.document import EnforcementPoint
from airflow_policies.exceptions import ConfigurationError

if TYPE_CHECKING:
    from airflow.dag_processing.dagbag import DagBag

    from airflow_policies._config import Settings

__all__ = ["calling_dagbag", "enforcement_point", "read_bundle_teams"]

# Airflow's parse entry points, by the code on the stack: DAG code can rewrite os.environ (where
# Airflow's parsing context lives), not the frames that called it.
_PARSE_ENTRY_POINTS: dict[tuple[str, str], EnforcementPoint] = {
    ("airflow/dag_processing/processor.py", "_parse_file"): "dag_processor",
    ("airflow/sdk/execution_time/task_runner.py", "parse"): "worker",
}


def calling_dagbag() -> DagBag | None:
    """Find the DagBag whose ``bag_dag`` is calling the policy.

    Airflow passes only the DAG to ``dag_policy``; the bundle lives on the bag, which is always a caller
    (DAG processor, worker re-parse, CLI), so walking up the stack finds it in every context.
    """
    from airflow.dag_processing.dagbag import DagBag

    frame = inspect.currentframe()
    try:
        while frame is not None:
            candidate = frame.f_locals.get("self")
            if isinstance(candidate, DagBag):
                return candidate
            frame = frame.f_back
    finally:
        del frame
    return None


def enforcement_point() -> EnforcementPoint:
    """Where this parse happens: a DAG-processor child, a worker starting a task, or anything else (CLI)."""
    frame = inspect.currentframe()
    try:
        while frame is not None:
            code = frame.f_code
            for (path_suffix, function), point in _PARSE_ENTRY_POINTS.items():
                if code.co_name == function and code.co_filename.endswith(path_suffix):
                    return point
            frame = frame.f_back
    finally:
        del frame
    return "cli"


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
