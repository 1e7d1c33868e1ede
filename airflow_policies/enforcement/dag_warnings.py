"""Show ``warn`` findings in the Airflow UI as DAG warnings. The one module that wraps Airflow internals.

Airflow 3.3 gives a cluster policy no way to attach a warning to a DAG, but it does store DAG warnings
(table ``dag_warning``, ``GET /api/v2/dagWarnings``) and shows them on the DAG's page, as the orange
"Dag warnings/errors" button, to everyone who can read the DAG. The parse paths build those warnings in two
places, which this module wraps:

- ``airflow.dag_processing.processor._parse_file``: the DAG processor's parse child builds the
  ``DagFileParsingResult`` whose ``warnings`` the manager writes to the DB;
- ``airflow.dag_processing.dagbag.DagBag.dag_warnings``: read by ``sync_bag_to_db``
  (``airflow dags reserialize`` and the other CLI paths that write DAGs).

``DagWarningType`` is a closed enum (``DagWarning.__init__`` and the API model refuse other values), so the
warning uses ``non-existent pool``: no Airflow 3.3 parse path produces it (every ``DagBag`` is built with
``known_pools=None``), and the DB write clears it on every parse, so the warning disappears as soon as the
DAG is fixed. Were Airflow to produce it too, both messages are kept, joined.

Each wrap is installed when its module is first imported (importing them eagerly would add about 0.4 s
to every Airflow process that loads the policy). Tested on apache-airflow-core 3.3.2. If an internal is
missing or changed shape, the wrap is skipped with an error in the log naming it, and warnings reach only
the decision log and the parse log: nothing is silently lost.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from airflow_policies.enforcement.import_hooks import ShapeChangedError, wrap_after_import

__all__ = ["WARNING_TYPE", "install", "merge_warnings", "record", "warning_type_usable"]

log = logging.getLogger(__name__)

#: The value of ``DagWarningType.NONEXISTENT_POOL``, checked before anything is wrapped.
WARNING_TYPE = "non-existent pool"

_pending: dict[str, str] = {}


def record(dag_id: str, message: str) -> None:
    """Remember the warning for ``dag_id`` until the parse result of its file is built."""
    _pending[dag_id] = message


def _take(dag_ids: Iterable[str]) -> dict[str, str]:
    return {dag_id: _pending.pop(dag_id) for dag_id in list(dag_ids) if dag_id in _pending}


def merge_warnings(warnings: list[dict[str, Any]], ours: dict[str, str]) -> list[dict[str, Any]]:
    """A parse result's warnings (dicts) with ours added, joined to one of our type for the same DAG, once."""
    ours = dict(ours)
    merged = []
    for warning in warnings:
        if warning.get("warning_type") == WARNING_TYPE and warning.get("dag_id") in ours:
            message = ours.pop(warning["dag_id"])
            if message not in warning["message"]:
                warning = warning | {"message": f"{warning['message']}\n{message}"}
        merged.append(warning)
    return merged + [{"dag_id": d, "warning_type": WARNING_TYPE, "message": m} for d, m in ours.items()]


def _log_skipped(problem: Exception) -> None:
    log.error(
        "airflow-policies cannot show warnings in the Airflow UI on this Airflow version (%s); they go to "
        "the decision log and the parse log only. Use an apache-airflow-core version airflow-policies is "
        "tested on, or upgrade airflow-policies.",
        problem,
    )


@functools.cache
def warning_type_usable() -> bool:
    # Checked when a warning is about to be written, not at import: the DB-write module is heavy to import
    # in processes (task runners) that never write one.
    from airflow.dag_processing.collection import update_dag_parsing_results_in_db
    from airflow.models.dagwarning import DagWarningType

    cleared = inspect.signature(update_dag_parsing_results_in_db).parameters.get("warning_types")
    if DagWarningType.NONEXISTENT_POOL.value != WARNING_TYPE:
        _log_skipped(ShapeChangedError("DagWarningType.NONEXISTENT_POOL changed value"))
    elif cleared is None or WARNING_TYPE not in {getattr(t, "value", t) for t in cleared.default}:
        _log_skipped(
            ShapeChangedError("update_dag_parsing_results_in_db no longer clears 'non-existent pool' warnings")
        )
    else:
        return True
    return False


def _wrap_parse_file(processor: ModuleType) -> None:
    original = getattr(processor, "_parse_file", None)
    if original is None or list(inspect.signature(original).parameters) != ["msg", "log"]:
        raise ShapeChangedError("airflow.dag_processing.processor._parse_file(msg, log) is gone or changed")
    if "warnings" not in getattr(processor.DagFileParsingResult, "model_fields", {}):
        raise ShapeChangedError("DagFileParsingResult has no 'warnings' field")

    @functools.wraps(original)
    def _parse_file(msg: Any, log: Any) -> Any:  # noqa: ANN401 - Airflow's own types
        result = original(msg, log)
        if result is not None and _pending and warning_type_usable():
            ours = _take(dag.dag_id for dag in result.serialized_dags)
            if ours:
                result.warnings = merge_warnings(result.warnings or [], ours)
        return result

    processor._parse_file = _parse_file  # type: ignore[attr-defined]


def _wrap_dag_warnings(dagbag: ModuleType) -> None:
    from airflow.models.dagwarning import DagWarning

    original = inspect.getattr_static(dagbag.DagBag, "dag_warnings", None)
    if not isinstance(original, property) or original.fget is None:
        raise ShapeChangedError("DagBag.dag_warnings is no longer a property")
    read = original.fget

    def dag_warnings(self: Any) -> set[Any]:  # noqa: ANN401 - a DagBag
        warnings = set(read(self))
        if not (_pending and warning_type_usable()):
            return warnings
        ours = _take(self.dag_ids)
        for existing in warnings:
            if existing.warning_type == WARNING_TYPE and existing.dag_id in ours:
                existing.message = f"{existing.message}\n{ours.pop(existing.dag_id)}"
        warnings.update(DagWarning(dag_id, WARNING_TYPE, message) for dag_id, message in ours.items())
        return warnings

    dagbag.DagBag.dag_warnings = property(dag_warnings, doc=original.__doc__)


def install() -> None:
    """Wrap both parse-result builders now if they are imported, else as soon as they are."""
    wrap_after_import("airflow.dag_processing.processor", _wrap_parse_file, _log_skipped)
    wrap_after_import("airflow.dag_processing.dagbag", _wrap_dag_warnings, _log_skipped)
