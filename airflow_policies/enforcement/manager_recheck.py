"""Decide every DAG the DAG processor parses once per version, in the manager, before it reaches the metadata DB.

``dag_policy`` runs in the parse child, after the DAG file's own code, which can switch it off. The
manager (the parent) runs no DAG code: it receives each child's ``DagFileParsingResult`` and writes it to
the DB in ``DagFileProcessorManager.persist_parsing_result``. Airflow has no hook there, so this module,
the only one that touches that internal, wraps the method when ``airflow.dag_processing.manager`` is
imported. For each serialized DAG of the result it builds the input document with the same builder,
asks for a decision at enforcement point ``dag_processor_manager``, and:

- a rejected DAG is taken out of the result (never persisted) and its file gets an import error worded
  like the parse-time one (``AirflowClusterPolicyViolation: ...``);
- a warned DAG gets the same DAG warning as at parse time;
- an admitted DAG's mutations (queue, pool, executor, owner, retries, execution_timeout, tags) are written into
  the serialized DAG Airflow stores (``serialized_mutations``).

This is the DAG processor's one decision: while it is in force (:func:`in_force`), the parse child the
manager forks makes none (``cluster_policies.dag_policy``). A verdict is reused for the same serialized DAG
of the same bundle and team, as long as the policy revision and its data (probed from OPA at most once per
``decision_cache_seconds``, :func:`~airflow_policies.decision.decide.current_revision`) and the day (a rollout
exception expires on a date) are the same: a file that did not change costs no decision.

The bundle is the manager's own ``bundle_name`` argument and the import error goes to the manager's
``relative_fileloc``: nothing the child sent decides either. Tested on apache-airflow-core 3.3.2. If the
method is missing or its signature changed, nothing is wrapped, the parse child decides as before, and an
error naming the method is logged at every start of the DAG processor (``docs/enforcement-points.md``).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import importlib.metadata
import inspect
import json
import logging
from types import ModuleType
from typing import TYPE_CHECKING, Any

from airflow_policies._config import settings
from airflow_policies.decision.cache import TtlCache
from airflow_policies.decision.decide import current_revision, decide
from airflow_policies.decision.record import DecisionRecord
from airflow_policies.decision.teams import bundle_info
from airflow_policies.document.builder import build_input
from airflow_policies.document.models import BundleInfo, EnforcementPoint
from airflow_policies.enforcement import dag_warnings
from airflow_policies.enforcement.enforce import rejection_message, warning_message
from airflow_policies.enforcement.import_hooks import ShapeChangedError, wrap_after_import
from airflow_policies.enforcement.serialized_mutations import apply_to_serialized

if TYPE_CHECKING:
    from airflow.serialization.serialized_objects import LazyDeserializedDAG

__all__ = ["TESTED_AIRFLOW_VERSIONS", "VERDICTS", "in_force", "install", "recheck"]

log = logging.getLogger(__name__)

#: apache-airflow-core versions whose ``persist_parsing_result`` this wrap is tested on.
TESTED_AIRFLOW_VERSIONS = ("3.3.2",)
_POINT: EnforcementPoint = "dag_processor_manager"
_METHOD = "persist_parsing_result"
_EXPECTED_PARAMETERS = [
    "self",
    "bundle_name",
    "bundle_version",
    "version_data",
    "parsing_result",
    "run_duration",
    "relative_fileloc",
    "session",
]

#: How long a verdict is kept at most: its key changes with the day anyway.
_KEEP_SECONDS = 2 * 86400.0

#: (bundle, team, digest of the serialized DAG, policy revision, UTC day) -> the verdict on it. Kept while the key
#: holds (``decision_cache_seconds`` 0 keeps nothing); emptied when the revision changes.
VERDICTS: TtlCache[tuple[str | None, str | None, str, str, str], DecisionRecord] = TtlCache(
    lambda: _KEEP_SECONDS if settings().decision_cache_seconds > 0 else 0
)
#: The revision the verdicts in VERDICTS were decided under.
_revision_of_verdicts: list[str] = []
#: The wrapped DagFileProcessorManager.persist_parsing_result (None: not wrapped).
_wrapper: Any = None


def in_force() -> bool:
    """Whether this process is a parse child forked by a DAG-processor manager that decides its results.

    A parse child is forked (``os.fork``) from the manager's own call stack, so the manager's frames are below the
    child's: one of them belongs to a ``DagFileProcessorManager`` whose ``persist_parsing_result`` is this module's
    wrapper. That holds however the DAG processor was started (``--daemon`` forks after Airflow imported the
    manager). DAG code runs in the child before the policy and can make this answer ``False`` (the child then
    decides anyway, as before: harmless) or ``True`` (the child skips its decision, as it does anyway); it
    cannot change what the manager decides.
    """
    if _wrapper is None or not settings().enabled(_POINT):
        return False
    frame = inspect.currentframe()
    try:
        while frame is not None:
            candidate = frame.f_locals.get("self")
            if candidate is not None and inspect.getattr_static(type(candidate), _METHOD, None) is _wrapper:
                return True
            frame = frame.f_back
    finally:
        del frame
    return False


def _content_key(lazy_dag: LazyDeserializedDAG) -> str:
    # The serialized form's JSON as the child sent it, hashed: equal for an unchanged DAG file, at a quarter of
    # the cost of Airflow's dag hash, which first sorts the whole document (Airflow computes that one again when
    # it writes the DAG).
    return hashlib.blake2b(json.dumps(lazy_dag.data).encode(), digest_size=16).hexdigest()


def _verdict(lazy_dag: LazyDeserializedDAG, bundle: BundleInfo, revision: str | None) -> DecisionRecord:
    key = None
    if revision is not None:
        if _revision_of_verdicts != [revision]:
            VERDICTS.clear()
            _revision_of_verdicts[:] = [revision]
        today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
        key = (bundle.name, bundle.team, _content_key(lazy_dag), revision, today)
        cached = VERDICTS.get(key)
        if cached is not None:
            return cached
    # Airflow's own deserialization, cached on the lazy DAG: Airflow reads it again for the next run's dates, so
    # the DAG is deserialized once, not twice.
    dag = lazy_dag._real_dag
    entries = len(lazy_dag.data["dag"]["tasks"])
    if entries != len(dag.task_dict):
        # Airflow's deserialization keeps the last of two tasks with one id, but other readers of the stored JSON
        # (asset references, the DAG's owners) read every entry: the verdict must cover all that is written.
        raise ValueError(f"its serialized form holds {entries} task entries for {len(dag.task_dict)} task ids")
    record = decide(build_input(dag, bundle=bundle, enforcement_point=_POINT))
    if record.decided and key is not None:
        VERDICTS.put(key, record)
    return record


def _mutated(lazy_dag: LazyDeserializedDAG, record: DecisionRecord) -> LazyDeserializedDAG:
    """The lazy DAG Airflow writes: the serialized DAG with the verdict's mutations applied."""
    data = apply_to_serialized(lazy_dag.data, record.mutations)
    if data is lazy_dag.data:
        return lazy_dag
    # The copy keeps the cached deserialization (pydantic copies the instance's __dict__): Airflow reads it for the
    # next run's dates only (next_dagrun_info), which no mutable field changes.
    return lazy_dag.model_copy(update={"data": data})


def _unreadable(lazy_dag: LazyDeserializedDAG, error: Exception) -> str:
    dag_id = lazy_dag.data.get("dag", {}).get("dag_id") if isinstance(lazy_dag.data, dict) else None
    return (
        f"DAG {dag_id!r} was rejected because airflow-policies could not read its serialized form "
        f"(fail closed): {type(error).__name__}: {error}"
    )


def recheck(bundle_name: str, relative_fileloc: str | None, parsing_result: Any) -> Any:  # noqa: ANN401 - Airflow's
    """``parsing_result`` without the DAGs the policy rejects, with their import errors and our warnings."""
    if not settings().enabled(_POINT) or not parsing_result.serialized_dags:
        return parsing_result
    bundle = bundle_info(bundle_name)
    revision = current_revision()
    kept, errors, warnings = [], [], {}
    for lazy_dag in parsing_result.serialized_dags:
        try:
            record = _verdict(lazy_dag, bundle, revision)
            if record.admitted:
                lazy_dag = _mutated(lazy_dag, record)
        except Exception as exc:  # a serialized form the verdict cannot be had on, or written into: never persist it
            errors.append(_unreadable(lazy_dag, exc))
            continue
        if not record.admitted:
            errors.append(rejection_message(record))
            continue
        kept.append(lazy_dag)
        warning = warning_message(record)
        if warning is not None:
            warnings[record.dag_id] = warning
    updates: dict[str, Any] = {}
    if len(kept) != len(parsing_result.serialized_dags) or any(
        ours is not theirs for ours, theirs in zip(kept, parsing_result.serialized_dags, strict=True)
    ):
        updates["serialized_dags"] = kept
    if errors:
        location = relative_fileloc or parsing_result.serialized_dags[0].data["dag"].get("relative_fileloc") or "?"
        import_errors = dict(parsing_result.import_errors or {})
        ours = "\n".join(f"AirflowClusterPolicyViolation: {message}" for message in errors)
        import_errors[location] = f"{import_errors[location]}\n{ours}" if location in import_errors else ours
        updates |= {"serialized_dags": kept, "import_errors": import_errors}
    if warnings and dag_warnings.warning_type_usable():
        updates["warnings"] = dag_warnings.merge_warnings(list(parsing_result.warnings or []), warnings)
    return parsing_result.model_copy(update=updates) if updates else parsing_result


def _wrap_persist_parsing_result(manager: ModuleType) -> None:
    manager_class = getattr(manager, "DagFileProcessorManager", None)
    original = getattr(manager_class, "persist_parsing_result", None)
    if (
        manager_class is None
        or original is None
        or list(inspect.signature(original).parameters) != _EXPECTED_PARAMETERS
    ):
        raise ShapeChangedError(
            "airflow.dag_processing.manager.DagFileProcessorManager.persist_parsing_result"
            f"({', '.join(_EXPECTED_PARAMETERS[1:])}) is gone or changed"
        )
    from airflow.serialization.serialized_objects import LazyDeserializedDAG

    if not isinstance(inspect.getattr_static(LazyDeserializedDAG, "_real_dag", None), functools.cached_property):
        raise ShapeChangedError(
            "airflow.serialization.serialized_objects.LazyDeserializedDAG._real_dag (a cached_property) is gone"
        )

    @functools.wraps(original)
    def persist_parsing_result(self: Any, *, bundle_name: str, parsing_result: Any, **kwargs: Any) -> None:  # noqa: ANN401
        checked = recheck(bundle_name, kwargs.get("relative_fileloc"), parsing_result)
        original(self, bundle_name=bundle_name, parsing_result=checked, **kwargs)

    manager_class.persist_parsing_result = persist_parsing_result
    global _wrapper
    _wrapper = persist_parsing_result  # the parse children's in_force() finds it on their manager's class
    version = importlib.metadata.version("apache-airflow-core")
    if version not in TESTED_AIRFLOW_VERSIONS:
        log.warning(
            "airflow-policies re-checks parse results by wrapping an Airflow internal that it is tested on with "
            "apache-airflow-core %s only; this is %s. Its shape is unchanged, so the re-check is on.",
            ", ".join(TESTED_AIRFLOW_VERSIONS),
            version,
        )


def _log_skipped(problem: Exception) -> None:
    log.error(
        "airflow-policies cannot re-check parse results in the DAG-processor manager on this Airflow version "
        "(%s): DAGs are checked at parse time only, where DAG code can switch the check off. Use an "
        "apache-airflow-core version airflow-policies is tested on (%s), or upgrade airflow-policies.",
        problem,
        ", ".join(TESTED_AIRFLOW_VERSIONS),
    )


def install() -> None:
    """Wrap ``persist_parsing_result`` now if the manager module is imported, else as soon as it is."""
    wrap_after_import("airflow.dag_processing.manager", _wrap_persist_parsing_result, _log_skipped)
