"""Build the one input document OPA receives for a DAG.

The builder reads the live DAG object of a parse, or a serialized DAG (``SerializedDAG``, from a parse
result or the metadata DB), and never raises on an odd DAG: anything it cannot represent becomes a typed
"unknown" entry or an unverifiable reference, which the rules reject (fail closed).

A serialized DAG holds less than the live one (``docs/enforcement-points.md``): its callbacks are only
flags, so ``callbacks`` is empty, and an operator's connection attributes survive only if they are
templated fields of the operator.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

import airflow
from airflow.configuration import conf
from airflow.sdk.bases.notifier import BaseNotifier

from airflow_policies.document.assets import asset_references, schedule_assets, watcher_connections
from airflow_policies.document.models import (
    AirflowInfo,
    BundleInfo,
    Callback,
    ConnectionReference,
    DagInfo,
    EnforcementPoint,
    ExecutorInfo,
    InputDocument,
    KubernetesInfo,
    TaskInfo,
    VariableReference,
)
from airflow_policies.document.pods import is_pod_operator, task_pods
from airflow_policies.document.references import (
    DAG_REFERENCE_ATTRIBUTES,
    connection_references,
    dag_references,
    expand_connection_references,
    is_connection_attribute,
    template_references,
)
from airflow_policies.document.safe import (
    UNREADABLE,
    json_safe,
    safe_getattr,
    safe_getattrs,
    safe_repr,
    type_name,
)

if TYPE_CHECKING:
    from airflow.sdk import DAG
    from airflow.serialization.definitions.dag import SerializedDAG

__all__ = [
    "airflow_info",
    "build_input",
    "configured_executors",
    "executor_names",
    "forget_loaded_executors",
    "kubernetes_info",
]

TASK_CALLBACK_EVENTS = (
    "on_execute_callback",
    "on_failure_callback",
    "on_success_callback",
    "on_retry_callback",
    "on_skipped_callback",
)
DAG_CALLBACK_EVENTS = ("on_success_callback", "on_failure_callback")


@cache
def airflow_info() -> AirflowInfo:
    """Deployment facts from Airflow's own configuration, read once per process."""
    return AirflowInfo(
        version=airflow.__version__,
        default_queue=conf.get("operators", "default_queue", fallback="default"),
        default_pool="default_pool",
        executors=configured_executors(),
        kubernetes=kubernetes_info(),
    )


def kubernetes_info() -> KubernetesInfo | None:
    """``[kubernetes_executor]`` defaults, when the cncf.kubernetes provider (which declares them) is installed."""
    import importlib.util

    if importlib.util.find_spec("airflow.providers.cncf.kubernetes") is None:
        return None
    return KubernetesInfo(
        namespace=conf.get("kubernetes_executor", "namespace", fallback="default"),
        pod_template_file=conf.get("kubernetes_executor", "pod_template_file", fallback=None) or None,
    )


def configured_executors() -> list[ExecutorInfo]:
    """``[core] executor`` as Airflow's ExecutorLoader parses it, in the order the scheduler searches it.

    Empty when ``[core] multi_team`` is off: Airflow then has no team executors and gives every task a global
    one, and the teams are the policy's alone (``bundle_teams``), e.g. for ``check`` in CI.
    """
    from airflow.executors.executor_loader import ExecutorLoader

    if not conf.getboolean("core", "multi_team", fallback=False):
        return []
    return [
        ExecutorInfo(team=name.team_name, names=executor_names(name.module_path, name.alias))
        for name in ExecutorLoader.get_executor_names(validate_teams=False)
    ]


#: Where Airflow's ExecutorLoader keeps ``[core] executor`` once it has read it (for the life of the process).
_EXECUTOR_LOADER_CACHES = (
    "_executor_names",
    "_alias_to_executors_per_team",
    "_module_to_executors_per_team",
    "_classname_to_executors_per_team",
    "_team_name_to_executors",
)


def forget_loaded_executors() -> None:
    """Make Airflow's ExecutorLoader read ``[core] executor`` again (after the configuration changed).

    Raises:
        RuntimeError: Airflow no longer keeps the executors where this expects them.
    """
    from airflow.executors import executor_loader

    missing = [name for name in _EXECUTOR_LOADER_CACHES if not hasattr(getattr(executor_loader, name, None), "clear")]
    if missing:
        raise RuntimeError(f"Airflow's ExecutorLoader no longer keeps {missing}: cannot read [core] executor again")
    for name in _EXECUTOR_LOADER_CACHES:
        getattr(executor_loader, name).clear()


def executor_names(module_path: str, alias: str | None) -> list[str]:
    """The names a task's ``executor=`` may use for an executor, as the scheduler compares them."""
    names = [alias] if alias else []
    return [*names, *(n for n in (module_path, module_path.rsplit(".", 1)[-1]) if n not in names)]


def _text(value: object) -> str | None:
    if value is None or value is UNREADABLE:
        return None
    return value if isinstance(value, str) else safe_repr(value)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _seconds(value: object) -> float | None:
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _callables(value: object) -> list[object]:
    if value is None or value is UNREADABLE:
        return []
    if type(value) is list:  # how operators hold them: spares the abstract Iterable check
        return list(value)
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes, BaseNotifier)):
        return list(value)
    return [value]


def _callbacks(events: Mapping[str, object]) -> tuple[list[Callback], list[ConnectionReference]]:
    """Callbacks of a DAG or task (each event with the value it holds), and the connections their notifiers
    name."""
    callbacks: list[Callback] = []
    conns: list[ConnectionReference] = []
    for event, value in events.items():
        for item in _callables(value):
            if isinstance(item, BaseNotifier):
                kind = "notifier"
                attributes = safe_getattr(item, "__dict__", None) or {}
                conns.extend(connection_references(attributes, "callback", f"{event}:{type(item).__name__}."))
            else:
                kind = "function" if callable(item) else "unknown"
            name = type_name(item) if kind != "function" else _callable_name(item)
            callbacks.append(Callback(event=event, kind=kind, type=name))
    return callbacks, conns


def _callable_name(func: object) -> str:
    module = safe_getattr(func, "__module__")
    qualname = safe_getattr(func, "__qualname__")
    if isinstance(module, str) and isinstance(qualname, str):
        return f"{module}.{qualname}"
    return type_name(func)


def _operator_attributes(task: object, is_mapped: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """(attributes as the operator holds them, mapped ``expand()`` kwargs)."""
    if is_mapped:
        partial = safe_getattr(task, "partial_kwargs", None) or {}
        expand_input = safe_getattr(task, "expand_input")
        if expand_input is None:
            # A serialized mapped task keeps its expand input under the attribute this names.
            attribute = safe_getattr(task, "_expand_input_attr")
            expand_input = safe_getattr(task, attribute) if isinstance(attribute, str) else None
        expand = safe_getattr(expand_input, "value", None)
        return dict(partial), dict(expand) if isinstance(expand, Mapping) else {"__expand_kwargs__": expand}
    # Only read: no copy of the operator's attributes.
    attributes = safe_getattr(task, "__dict__", None) or {}
    return attributes, {}


def _operator_name(task: object, module: object, name: object) -> str:
    # Mapped and serialized tasks name the operator class they stand for; plain SDK tasks are that class.
    if isinstance(module, str) and isinstance(name, str):
        return f"{module}.{name}"
    return type_name(task)


def _accepts_connection_argument(task: object) -> bool:
    """Whether a mapped task's operator takes a connection id argument (so expand_kwargs may set one)."""
    import inspect

    operator_class = safe_getattr(task, "operator_class")
    for cls in getattr(operator_class, "__mro__", ()):
        try:
            parameters = inspect.signature(cls.__init__).parameters
        except (TypeError, ValueError):
            continue
        if any(is_connection_attribute(p) for p in parameters):
            return True
    return False


def _task_references(
    task: object,
    template_fields: Any,  # noqa: ANN401 - what the operator holds: Airflow iterates it
    attributes: dict[str, Any],
    expand: dict[str, Any],
) -> tuple[list[ConnectionReference], list[VariableReference]]:
    conns = connection_references(attributes, "attribute")
    if "__expand_kwargs__" in expand:
        # expand_kwargs(): literal dicts are visible, anything lazy hides which kwargs it sets.
        value = expand["__expand_kwargs__"]
        if isinstance(value, (list, tuple)):
            for entry in value:
                if isinstance(entry, Mapping):
                    conns.extend(expand_connection_references({k: [v] for k, v in entry.items()}))
        elif _accepts_connection_argument(task):
            conns.append(
                ConnectionReference(
                    conn_id=None,
                    verifiable=False,
                    raw=safe_repr(value),
                    source="mapped_expand",
                    location="expand_kwargs",
                )
            )
    else:
        conns.extend(expand_connection_references(expand))
    variables: list[VariableReference] = []
    for field in template_fields or ():
        if not isinstance(field, str):
            continue
        value = attributes[field] if field in attributes else safe_getattr(task, field)
        for templated in (value, expand[field]) if field in expand else (value,):
            field_conns, field_vars = template_references(templated, field)
            conns.extend(field_conns)
            variables.extend(field_vars)
    return conns, variables


#: Read from every task, in one pass (:func:`safe_getattrs`).
_TASK_ATTRIBUTES = (
    "is_mapped", "task_id", "_task_module", "task_type", "task_group", "is_setup", "is_teardown", "owner",
    "queue", "pool", "pool_slots", "executor", "run_as_user", "executor_config", "retries",
    "execution_timeout", "inlets", "outlets", "template_fields",
)  # fmt: skip


def _describe_task(task: object) -> TaskInfo:
    (
        is_mapped, task_id, task_module, task_type, group, is_setup, is_teardown, owner, queue, pool, pool_slots,
        executor, run_as_user, executor_config, retries, execution_timeout, inlets, outlets, template_fields,
    ) = safe_getattrs(task, _TASK_ATTRIBUTES)  # fmt: skip
    is_mapped = is_mapped is True
    attributes, expand = _operator_attributes(task, is_mapped)
    conns, variables = _task_references(task, template_fields, attributes, expand)
    callback_values = (
        {event: attributes.get(event) for event in TASK_CALLBACK_EVENTS}
        if is_mapped
        else dict(zip(TASK_CALLBACK_EVENTS, safe_getattrs(task, TASK_CALLBACK_EVENTS), strict=True))
    )
    callbacks, callback_conns = _callbacks(callback_values)
    # An expand() value of a DAG-reference attribute wins over the attribute, as it does at run time.
    dag_refs_source = {name: expand.get(name, attributes.get(name)) for name in DAG_REFERENCE_ATTRIBUTES}
    operator = _operator_name(task, task_module, task_type)
    return TaskInfo(
        task_id=_text(task_id) or "<unknown task>",
        operator=operator,
        task_group=_text(safe_getattr(group, "group_id")),
        is_mapped=is_mapped,
        is_setup=is_setup is True,
        is_teardown=is_teardown is True,
        owner=_text(owner),
        queue=_text(queue),
        pool=_text(pool),
        pool_slots=_int(pool_slots),
        executor=_text(executor),
        run_as_user=_text(run_as_user),
        executor_config=json_safe(executor_config),
        retries=_int(retries),
        execution_timeout=_seconds(execution_timeout),
        inlets=asset_references(inlets),
        outlets=asset_references(outlets),
        dag_refs=dag_references(dag_refs_source),
        connections=conns + callback_conns,
        variables=variables,
        callbacks=callbacks,
        pods=task_pods(operator, is_pod_operator(task, template_fields), executor_config, attributes, expand),
    )


def build_input(dag: DAG | SerializedDAG, *, bundle: BundleInfo, enforcement_point: EnforcementPoint) -> InputDocument:
    """The input document for one DAG.

    Args:
        dag: the parsed DAG (SDK object) before serialization, or a deserialized ``SerializedDAG``.
        bundle: the bundle and team, resolved by the caller from trusted sources only.
        enforcement_point: where the decision is being made.
    """
    schedule = schedule_assets(safe_getattr(dag, "timetable"))
    callbacks, callback_conns = _callbacks(
        dict(zip(DAG_CALLBACK_EVENTS, safe_getattrs(dag, DAG_CALLBACK_EVENTS), strict=True))
    )
    tags = safe_getattr(dag, "tags", None) or ()
    tasks = safe_getattr(dag, "tasks", None) or ()
    return InputDocument(
        enforcement_point=enforcement_point,
        airflow=airflow_info(),
        bundle=bundle,
        dag=DagInfo(
            dag_id=_text(safe_getattr(dag, "dag_id")) or "<unknown dag>",
            relative_fileloc=_text(safe_getattr(dag, "relative_fileloc")),
            owner=_text(safe_getattr(dag, "owner")),
            tags=sorted(t for t in tags if isinstance(t, str)),
            schedule_assets=schedule,
            callbacks=callbacks,
            connections=callback_conns + watcher_connections(schedule),
        ),
        tasks=[_describe_task(task) for task in tasks],
    )
