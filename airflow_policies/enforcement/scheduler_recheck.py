"""Re-check each task instance where Airflow creates or refreshes it, in ``task_instance_mutation_hook``.

The hook runs in the scheduler (and the API server: trigger, clear, backfill), where no DAG code runs. It
sees the serialized task and the task instance's own fields, and must not open a session or commit:
the team is read through the session the task instance or its run already belongs to
(TI -> ``DagModel.bundle_name`` -> the bundle's team).

One decision covers a whole DAG version: on a cache miss the serialized DAG is decided with this task
instance's fields in place of its task's, and the verdict of every task of the DAG is cached, keyed by
the fields a task instance copies from its task. Every later task instance of that DAG version costs a
dict lookup (``benchmarks/scheduler_hook.py``).

- A rejected DAG's task instances go to the quarantine pool (``quarantine_pool``, 0 slots): the
  scheduler never queues them, and since ``refresh_from_task`` re-runs the hook, they stay there.
- An admitted DAG's mutations of ``queue``, ``pool`` and ``executor`` are applied to the task instance.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, NamedTuple

from airflow_policies._config import settings
from airflow_policies.decision.cache import TtlCache
from airflow_policies.decision.decide import decide
from airflow_policies.decision.record import DecisionRecord
from airflow_policies.decision.teams import bundle_info_from_db
from airflow_policies.document.builder import build_input
from airflow_policies.document.models import BundleInfo, EnforcementPoint, InputDocument
from airflow_policies.document.safe import json_safe

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["BUNDLES", "VERDICTS", "recheck"]

log = logging.getLogger(__name__)

_POINT: EnforcementPoint = "scheduler"
#: Fields of a task instance a decision may set; the other mutable fields belong to the DAG or its tasks.
_TI_FIELDS = ("queue", "pool", "executor")


class _TaskVerdict(NamedTuple):
    admitted: bool
    changes: tuple[tuple[str, Any], ...]
    decision_id: str


#: dag_id -> its bundle and team, read from the metadata DB.
BUNDLES: TtlCache[str, BundleInfo] = TtlCache(lambda: settings().decision_cache_seconds)
#: (dag_id, task_id, dag_version_id, fields a task instance copies from its task) -> the task's verdict.
VERDICTS: TtlCache[tuple[Any, ...], _TaskVerdict] = TtlCache(lambda: settings().decision_cache_seconds)


def _fields(source: Any) -> tuple[Any, ...]:  # noqa: ANN401 - a task instance or a serialized task
    # What a task instance copies from its task (refresh_from_task); executor_config by repr, as it is a dict.
    return (
        source.queue,
        source.pool,
        source.pool_slots,
        source.executor,
        source.run_as_user,
        repr(source.executor_config),
    )


def _bundle(dag_id: str, session: Session) -> BundleInfo:
    from airflow.models.dag import DagModel
    from sqlalchemy import select

    cached = BUNDLES.get(dag_id)
    if cached is not None:
        return cached
    bundle_name = session.scalar(select(DagModel.bundle_name).where(DagModel.dag_id == dag_id))
    info = bundle_info_from_db(bundle_name, session)
    BUNDLES.put(dag_id, info)
    return info


def _document(task_instance: Any, bundle: BundleInfo) -> InputDocument:  # noqa: ANN401 - Airflow's TaskInstance
    """The serialized DAG's document, with the task instance's own values in place of its task's."""
    document = build_input(task_instance.task.dag, bundle=bundle, enforcement_point=_POINT)
    own_values = {
        "queue": task_instance.queue,
        "pool": task_instance.pool,
        "pool_slots": task_instance.pool_slots,
        "executor": task_instance.executor,
        "run_as_user": task_instance.run_as_user,
        "executor_config": json_safe(task_instance.executor_config),
    }
    tasks = [t.model_copy(update=own_values) if t.task_id == task_instance.task_id else t for t in document.tasks]
    return document.model_copy(update={"tasks": tasks})


def _task_verdicts(record: DecisionRecord, task_ids: list[str]) -> dict[str, _TaskVerdict]:
    changes: dict[str, list[tuple[str, Any]]] = {task_id: [] for task_id in task_ids}
    for change in record.mutations:
        if change.applied and change.field in _TI_FIELDS:
            for task_id in change.task_ids:
                if task_id in changes:
                    changes[task_id].append((change.field, change.after))
    return {task_id: _TaskVerdict(record.admitted, tuple(changes[task_id]), record.decision_id) for task_id in task_ids}


def recheck(task_instance: Any, dag_run: Any) -> None:  # noqa: ANN401 - Airflow's TaskInstance and DagRun
    """Quarantine the task instance if the policy rejects its DAG, else apply the policy's routing to it."""
    from sqlalchemy.orm import object_session

    current = settings()
    if not current.enabled(_POINT) or task_instance.pool == current.quarantine_pool:
        return
    task = getattr(task_instance, "task", None)
    session = object_session(dag_run) if dag_run is not None else object_session(task_instance)
    if task is None or session is None:
        # A task instance under construction: Airflow calls the hook again with its run.
        return
    key = (task_instance.dag_id, task_instance.task_id, task_instance.dag_version_id, _fields(task_instance))
    verdict = VERDICTS.get(key)
    if verdict is None:
        try:
            verdict = _decide_dag(task_instance, session, key)
        except Exception:
            # The hook's callers do not handle exceptions (the scheduler loop would fail): decide here.
            log.exception(
                "airflow-policies could not decide on task instance %s.%s (failure mode %s)",
                task_instance.dag_id,
                task_instance.task_id,
                current.failure_mode_at(_POINT),
            )
            verdict = _TaskVerdict(current.failure_mode_at(_POINT) == "open", (), "none")
    if not verdict.admitted:
        log.warning(
            "airflow-policies: task instance %s.%s (run %s) is quarantined in pool %r: decision %s rejects its DAG",
            task_instance.dag_id,
            task_instance.task_id,
            task_instance.run_id,
            current.quarantine_pool,
            verdict.decision_id,
        )
        task_instance.pool = current.quarantine_pool
        return
    for field, value in verdict.changes:
        setattr(task_instance, field, value)


def _decide_dag(task_instance: Any, session: Session, key: tuple[Any, ...]) -> _TaskVerdict:  # noqa: ANN401
    document = _document(task_instance, _bundle(task_instance.dag_id, session))
    record = decide(document)
    verdicts = _task_verdicts(record, [t.task_id for t in document.tasks])
    if not record.decided:
        return verdicts[task_instance.task_id]
    for task in task_instance.task.dag.tasks:
        if task.task_id != task_instance.task_id:
            VERDICTS.put((key[0], task.task_id, key[2], _fields(task)), verdicts[task.task_id])
    VERDICTS.put(key, verdicts[task_instance.task_id])
    return verdicts[task_instance.task_id]
