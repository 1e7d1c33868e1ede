"""Decide the final pod of every task instance the KubernetesExecutor starts, in ``pod_mutation_hook``.

The executor builds each pod in the scheduler (``PodGenerator.construct_pod``): the team's pod template, then
the task's ``executor_config["pod_override"]``, then Airflow's own fields, merged, and hands the result to
``pod_mutation_hook`` before it creates it. No DAG code runs there, so this is where a pod's namespace,
service account, Secrets, host access, image and node pool are decided for good.

The pod alone cannot say whose it is: ``pod_override`` is merged last, so its labels and annotations (dag_id,
task_id, ...) are the author's to set. The task instance is taken from the executor's own call instead: the
wrap of ``construct_pod`` keeps the arguments the executor passed (the scheduler's task instance key) for the
hook to read. Its DAG version, bundle and team come from the metadata DB; the document is that version's
serialized DAG, cut to the task, with the final pod as the task's only pod. The verdict is cached per
(DAG version, task, pod settings), like the scheduler's re-check: a pod the cache knows costs one indexed query.

A refused pod raises: the executor fails the task instance with the message (``PodMutationHookException``).
No decision (OPA down, the DB unreadable): the point's failure mode decides, closed by default. Outside the
executor's ``construct_pod`` (a ``KubernetesPodOperator`` calls the hook too, in the task's own process, where
DAG code runs) there is no trusted task instance: the hook does nothing there, and that operator's pod is
decided from its arguments at parse time (``docs/kubernetes.md`` says what Kubernetes RBAC must still do).
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import inspect
import logging
from types import ModuleType
from typing import Any, NamedTuple

from airflow_policies._config import settings
from airflow_policies.decision.cache import TtlCache
from airflow_policies.decision.decide import decide
from airflow_policies.decision.teams import bundle_info_from_db
from airflow_policies.document.builder import build_input
from airflow_policies.document.models import EnforcementPoint, InputDocument, PodSettings
from airflow_policies.document.pods import executor_pod
from airflow_policies.enforcement.audit_log import RuntimeRefusal, record_refusal
from airflow_policies.enforcement.enforce import rejection_message
from airflow_policies.enforcement.import_hooks import ShapeChangedError, wrap_after_import

__all__ = ["VERDICTS", "PodRefusedError", "TaskInstanceKey", "apply_to_pod", "decide_pod", "install"]

log = logging.getLogger(__name__)

_POINT: EnforcementPoint = "kubernetes_executor"
_MODULE = "airflow.providers.cncf.kubernetes.pod_generator"
#: The arguments of ``construct_pod`` that name the task instance, and the one that says the hook will run.
_KEY_ARGUMENTS = ("dag_id", "task_id", "run_id", "map_index")


class TaskInstanceKey(NamedTuple):
    """The task instance a pod is being built for, as the executor passed it to ``construct_pod``."""

    dag_id: str
    task_id: str
    run_id: str | None
    map_index: int


class PodRefusedError(Exception):
    """The policy refuses the pod (or cannot decide on it, failing closed); the task instance fails."""


class _Verdict(NamedTuple):
    admitted: bool
    changes: tuple[tuple[str, Any], ...]
    message: str | None


#: The task instance whose pod ``construct_pod`` is building in this thread or task, if any.
_BUILDING: contextvars.ContextVar[TaskInstanceKey | None] = contextvars.ContextVar("airflow_policies_pod", default=None)
#: (dag_version_id, task_id, digest of the final pod's settings) -> verdict.
VERDICTS: TtlCache[tuple[str, str, str], _Verdict] = TtlCache(lambda: settings().decision_cache_seconds)


def _wrap_construct_pod(module: ModuleType) -> None:
    generator = getattr(module, "PodGenerator", None)
    method = getattr(generator, "__dict__", {}).get("construct_pod")
    if not isinstance(method, classmethod):
        raise ShapeChangedError(f"{_MODULE}.PodGenerator.construct_pod is not a classmethod any more")
    original = method.__func__
    signature = inspect.signature(original)
    if not {*_KEY_ARGUMENTS, "with_mutation_hook"} <= set(signature.parameters):
        raise ShapeChangedError(f"{_MODULE}.PodGenerator.construct_pod no longer takes {_KEY_ARGUMENTS}")

    @functools.wraps(original)
    def construct_pod(cls: type, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - Airflow's signature
        arguments = signature.bind(cls, *args, **kwargs)
        arguments.apply_defaults()
        values = arguments.arguments
        key = TaskInstanceKey(*(values[name] for name in _KEY_ARGUMENTS)) if values["with_mutation_hook"] else None
        token = _BUILDING.set(key)
        try:
            return original(cls, *args, **kwargs)
        finally:
            _BUILDING.reset(token)

    generator.construct_pod = classmethod(construct_pod)  # type: ignore[union-attr]


def _skipped(error: Exception) -> None:
    log.error(
        "airflow-policies cannot decide KubernetesExecutor pods: %s. Pods are created undecided by this point; "
        "pin the cncf.kubernetes provider to a version airflow-policies supports",
        error,
    )


def install() -> None:
    """Keep the task instance of each pod the executor builds, from the moment the provider is imported."""
    wrap_after_import(_MODULE, _wrap_construct_pod, _skipped)


def apply_to_pod(pod: Any, changes: tuple[tuple[str, Any], ...]) -> None:  # noqa: ANN401 - a kubernetes V1Pod
    """Set each pod field a decision changes on the final pod; node selector and labels are merged."""
    for field, value in changes:
        if field == "pod_namespace":
            pod.metadata.namespace = value
        elif field == "pod_service_account":
            pod.spec.service_account_name = value
        elif field == "pod_node_selector":
            pod.spec.node_selector = {**(pod.spec.node_selector or {}), **value}
        elif field == "pod_labels":
            pod.metadata.labels = {**(pod.metadata.labels or {}), **value}


def _dag_version(key: TaskInstanceKey, session: Any) -> Any:  # noqa: ANN401 - a session; a UUID
    """The DAG version the task instance runs, as the metadata DB records it."""
    from airflow.models.taskinstance import TaskInstance
    from sqlalchemy import select

    version_id = session.scalar(
        select(TaskInstance.dag_version_id).where(
            TaskInstance.dag_id == key.dag_id,
            TaskInstance.task_id == key.task_id,
            TaskInstance.run_id == key.run_id,
            TaskInstance.map_index == key.map_index,
        )
    )
    if version_id is None:
        raise LookupError(f"the metadata DB has no task instance {key} with a DAG version")
    return version_id


def _document(key: TaskInstanceKey, version_id: Any, pod: PodSettings, session: Any) -> InputDocument:  # noqa: ANN401
    """The DAG version's serialized DAG's document cut to the task, with the final pod as its only pod."""
    from airflow.models.dag_version import DagVersion
    from airflow.models.serialized_dag import SerializedDagModel
    from sqlalchemy import select

    version = session.get(DagVersion, version_id)
    serialized = session.scalar(select(SerializedDagModel).where(SerializedDagModel.dag_version_id == version_id))
    if version is None or serialized is None:
        raise LookupError(f"DAG version {version_id} of {key.dag_id!r} has no serialized DAG in the metadata DB")
    bundle = bundle_info_from_db(version.bundle_name, session)
    document = build_input(serialized.dag, bundle=bundle, enforcement_point=_POINT)
    tasks = [t.model_copy(update={"pods": [pod]}) for t in document.tasks if t.task_id == key.task_id]
    if not tasks:
        raise LookupError(f"DAG version {version_id} of {key.dag_id!r} has no task {key.task_id!r}")
    return document.model_copy(update={"tasks": tasks})


def _decide(key: TaskInstanceKey, pod: Any) -> _Verdict:  # noqa: ANN401
    from airflow.utils.session import create_session

    settings_of_pod = executor_pod(pod)
    # Not the scoped session: the scheduler's loop may hold it, and this one is committed and closed here.
    with create_session(scoped=False) as session:
        version_id = _dag_version(key, session)
        digest = hashlib.sha256(settings_of_pod.model_dump_json().encode()).hexdigest()
        cache_key = (str(version_id), key.task_id, digest)
        cached = VERDICTS.get(cache_key)
        if cached is not None:
            return cached
        document = _document(key, version_id, settings_of_pod, session)
    record = decide(document)
    changes = tuple(
        (change.field, change.after)
        for change in record.mutations
        if change.applied and change.field.startswith("pod_") and key.task_id in change.task_ids
    )
    verdict = _Verdict(record.admitted, changes, None if record.admitted else rejection_message(record))
    if not record.admitted and record.outcome == "rejected":
        record_refusal(
            RuntimeRefusal(
                enforcement_point=_POINT,
                team=document.bundle.team,
                dag_id=key.dag_id,
                task_id=key.task_id,
                rules=sorted({v.rule for v in record.violations if v.effect == "deny"}),
                message=verdict.message or "",
            )
        )
    if record.decided:
        VERDICTS.put(cache_key, verdict)
    return verdict


def decide_pod(pod: Any) -> None:  # noqa: ANN401 - a kubernetes V1Pod
    """Decide the final pod of the task instance the executor is building it for; refuse it, or mutate it.

    Raises:
        PodRefusedError: the policy refuses the pod, or no decision could be had and the point fails closed.
    """
    key = _BUILDING.get()
    current = settings()
    if key is None or not current.enabled(_POINT):
        return
    try:
        verdict = _decide(key, pod)
    except Exception as exc:
        if current.failure_mode_at(_POINT) == "open":
            log.exception("airflow-policies admits the pod of %s undecided (failure mode open)", key)
            return
        raise PodRefusedError(
            f"airflow-policies could not decide on the pod of task instance {key} (fail closed): {exc}"
        ) from exc
    if not verdict.admitted:
        raise PodRefusedError(verdict.message)
    apply_to_pod(pod, verdict.changes)
