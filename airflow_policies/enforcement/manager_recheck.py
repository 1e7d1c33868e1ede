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

The judgement starts as soon as the manager receives the result from its child (a wrap of
``DagFileProcessorProcess._handle_request``, :func:`start`), on one thread of the manager's own, so the manager's
loop goes on (its other children, the DB) while the DAGs are decided and OPA answers; ``persist_parsing_result``
waits for what is not done. That judgement is used only for that very result object and the bundle Airflow
persists it under; anything else (a child's later results, an Airflow whose receipt changed) is judged at persist.

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
import logging
import os
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from airflow_policies._config import settings
from airflow_policies.decision.cache import TtlCache
from airflow_policies.decision.decide import current_revision, decide
from airflow_policies.decision.record import DecisionRecord
from airflow_policies.decision.teams import bundle_info
from airflow_policies.document.builder import build_input
from airflow_policies.document.models import BundleInfo, EnforcementPoint
from airflow_policies.enforcement import dag_warnings
from airflow_policies.enforcement.enforce import rejection_message, warning_message
from airflow_policies.enforcement.import_hooks import HANDLE_REQUEST_PARAMETERS, ShapeChangedError, wrap_after_import
from airflow_policies.enforcement.serialized_mutations import apply_to_serialized

if TYPE_CHECKING:
    from airflow.serialization.serialized_objects import LazyDeserializedDAG

__all__ = ["TESTED_AIRFLOW_VERSIONS", "VERDICTS", "in_force", "install", "recheck", "start"]

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
    # The serialized form as the child sent it, encoded as MessagePack (msgspec, which Airflow's own IPC uses) and
    # hashed: equal for an unchanged DAG file, and unequal for any change, since the encoding keeps every key,
    # value and type (1 and 1.0 and True stay apart). 0.04 ms for 50 tasks, against 0.22 ms for json.dumps and
    # 0.83 ms for Airflow's dag hash, which first sorts the whole document.
    return hashlib.blake2b(msgspec.msgpack.encode(lazy_dag.data), digest_size=16).hexdigest()


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


class _Judged(NamedTuple):
    """One serialized DAG of a parse result, judged: the DAG to write (its mutations applied) and the verdict, or the
    error that kept a verdict from being had on it or written into it (it is never persisted then)."""

    lazy_dag: Any
    verdict: DecisionRecord | Exception


def _judge(bundle: BundleInfo, parsing_result: Any) -> list[_Judged]:  # noqa: ANN401 - Airflow's
    revision = current_revision()
    judged = []
    for lazy_dag in parsing_result.serialized_dags:
        try:
            record = _verdict(lazy_dag, bundle, revision)
            judged.append(_Judged(_mutated(lazy_dag, record) if record.admitted else lazy_dag, record))
        except Exception as exc:  # a serialized form the verdict cannot be had on, or written into
            judged.append(_Judged(lazy_dag, exc))
    return judged


#: The thread that judges this manager's parse results, with the process it belongs to (a forked child has none).
#: One thread: the verdict cache and the revision are only ever touched by it.
_decider: list[tuple[ThreadPoolExecutor, int]] = []
#: id(parse result) -> (the result, its bundle, its judgement): started when the child sent the result.
_started: OrderedDict[int, tuple[Any, BundleInfo, Future[list[_Judged]]]] = OrderedDict()
#: Started judgements whose result is never persisted (its parse timed out) are dropped past this many.
_MAX_STARTED = 64


def _decide_in_thread(bundle: BundleInfo, parsing_result: Any) -> Future[list[_Judged]]:  # noqa: ANN401
    if not _decider or _decider[0][1] != os.getpid():
        _decider[:] = [(ThreadPoolExecutor(max_workers=1, thread_name_prefix="airflow-policies-manager"), os.getpid())]
    return _decider[0][0].submit(_judge, bundle, parsing_result)


def start(bundle_name: str, parsing_result: Any) -> None:  # noqa: ANN401 - Airflow's
    """Start judging a parse result as soon as the manager receives it from its child.

    The manager's loop goes on (other children's messages, the DB) while the DAGs are decided; :func:`recheck`, when
    Airflow persists the result, waits for what is not done yet. The decision is the same one, made on the same
    object with the same bundle: ``recheck`` uses it only for that very result and bundle.
    """
    if not settings().enabled(_POINT) or not parsing_result.serialized_dags:
        return
    bundle = bundle_info(bundle_name)
    _started[id(parsing_result)] = (parsing_result, bundle, _decide_in_thread(bundle, parsing_result))
    while len(_started) > _MAX_STARTED:
        _started.popitem(last=False)[1][2].cancel()


def _judgement(bundle: BundleInfo, parsing_result: Any) -> list[_Judged]:  # noqa: ANN401 - Airflow's
    started = _started.pop(id(parsing_result), None)
    if started is not None and started[0] is parsing_result and started[1] == bundle:
        return started[2].result()
    return _decide_in_thread(bundle, parsing_result).result()


def recheck(bundle_name: str, relative_fileloc: str | None, parsing_result: Any) -> Any:  # noqa: ANN401 - Airflow's
    """``parsing_result`` without the DAGs the policy rejects, with their import errors and our warnings."""
    if not settings().enabled(_POINT) or not parsing_result.serialized_dags:
        return parsing_result
    kept, errors, warnings = [], [], {}
    for lazy_dag, verdict in _judgement(bundle_info(bundle_name), parsing_result):
        if isinstance(verdict, Exception):
            errors.append(_unreadable(lazy_dag, verdict))
            continue
        if not verdict.admitted:
            errors.append(rejection_message(verdict))
            continue
        kept.append(lazy_dag)
        warning = warning_message(verdict)
        if warning is not None:
            warnings[verdict.dag_id] = warning
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
    _wrap_receipt()
    version = importlib.metadata.version("apache-airflow-core")
    if version not in TESTED_AIRFLOW_VERSIONS:
        log.warning(
            "airflow-policies re-checks parse results by wrapping an Airflow internal that it is tested on with "
            "apache-airflow-core %s only; this is %s. Its shape is unchanged, so the re-check is on.",
            ", ".join(TESTED_AIRFLOW_VERSIONS),
            version,
        )


def _wrap_receipt() -> None:
    """Start each parse result's judgement where the manager receives it (:func:`start`), if Airflow's shape is the
    one this is tested on; otherwise the judgement starts when the result is persisted, as early as is known."""
    from airflow.dag_processing import processor

    process = getattr(processor, "DagFileProcessorProcess", None)
    result_class = getattr(processor, "DagFileParsingResult", None)
    original = inspect.getattr_static(process, "_handle_request", None) if process is not None else None
    fields = {attribute.name for attribute in getattr(process, "__attrs_attrs__", ())}
    if (
        process is None
        or result_class is None
        or not callable(original)
        or list(inspect.signature(original).parameters) != HANDLE_REQUEST_PARAMETERS
        or not {"bundle_name", "parsing_result"} <= fields
    ):
        log.warning(
            "airflow-policies cannot see where the DAG-processor manager receives a parse result on this Airflow "
            "version (DagFileProcessorProcess._handle_request(msg, log, req_id), bundle_name, parsing_result): "
            "its DAGs are decided when the result is persisted, which is as safe and slower."
        )
        return

    @functools.wraps(original)
    def _handle_request(self: Any, msg: Any, log: Any, req_id: int) -> None:  # noqa: ANN401 - Airflow's
        # The first result of a child only: a child that sends many cannot queue decisions ahead of other files'.
        first = isinstance(msg, result_class) and self.parsing_result is None
        original(self, msg, log, req_id)
        if first and self.parsing_result is msg:
            try:
                start(self.bundle_name, msg)
            except Exception:  # never in the way of Airflow's own handling: persist judges the result then
                logging.getLogger(__name__).exception(
                    "airflow-policies could not start judging a parse result; it is judged when it is persisted"
                )

    process._handle_request = _handle_request


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
