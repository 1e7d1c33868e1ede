"""Apply a decision's mutations to a serialized DAG, as the DAG-processor manager writes it.

The manager decides on the serialized DAG a parse child sent (no DAG code runs in the manager) and writes
the DAG with the policy's routing applied. Each field is written the way Airflow's serializer writes it, so
that the stored DAG deserializes to what :func:`~airflow_policies.enforcement.enforce.apply_mutations` on the
live DAG would have produced (``tests/unit/enforcement/test_serialized_mutations.py`` checks exactly that):

- an operator's fields are keys of its ``__var``: ``execution_timeout`` as seconds (a float), the others as
  they are;
- a mapped operator's fields are what it was given in ``partial()``: keys of ``partial_kwargs``, where a
  ``timedelta`` is encoded as ``{"__var": seconds, "__type": "timedelta"}``;
- the DAG's ``tags`` are a list (sorted here, so that an unchanged DAG serializes to the same bytes and keeps its
  DAG version).

A value equal to what the task deserializes to without it (the DAG's ``client_defaults``, else the schema's
default) is omitted, as Airflow's serializer omits it.

The Kubernetes pod fields are not written here: they take effect where a pod is built, at run time. The
KubernetesExecutor's final pod is mutated in ``pod_mutation_hook`` (``kubernetes_executor``); a
KubernetesPodOperator runs from the worker's own parse of the DAG file, whose arguments the ``worker`` point
mutates where it decides (``docs/kubernetes.md``). What the serialized DAG would hold of them (templated
arguments only) is never what runs.
"""

from __future__ import annotations

from typing import Any

from airflow_policies.decision.models import POD_FIELDS
from airflow_policies.decision.record import MutationChange

__all__ = ["apply_to_serialized"]

_VAR = "__var"


def _encoded(field: str, value: Any, *, mapped: bool) -> Any:  # noqa: ANN401 - depends on the field
    if field == "execution_timeout":
        seconds = float(value)
        return {_VAR: seconds, "__type": "timedelta"} if mapped else seconds
    return value


_ABSENT = object()


def _default(field: str, data: dict[str, Any]) -> Any:  # noqa: ANN401 - depends on the field
    """What a task of ``data`` deserializes ``field`` to when its serialized form does not hold it."""
    from airflow.serialization.serialized_objects import OperatorSerialization

    client = (data.get("client_defaults") or {}).get("tasks") or {}
    if field in client:
        return client[field]
    return OperatorSerialization.get_schema_defaults("operator").get(field, _ABSENT)


def _write(held: dict[str, Any], field: str, value: Any, default: Any) -> None:  # noqa: ANN401
    plain = value.get(_VAR) if isinstance(value, dict) else value
    if default is not _ABSENT and plain == default:
        held.pop(field, None)
    else:
        held[field] = value


def apply_to_serialized(data: dict[str, Any], changes: list[MutationChange]) -> dict[str, Any]:
    """``data`` (a serialized DAG, left as it is) with every applied change written into a copy.

    Raises:
        KeyError: a change names a task the serialized DAG does not have (the decision was made on this very
            DAG, so that is a serialized form this module does not understand: the caller fails closed).
    """
    applied = [c for c in changes if c.applied and c.field not in POD_FIELDS]
    if not applied:
        return data
    dag = dict(data["dag"])
    tasks = list(dag["tasks"])
    index = {task[_VAR]["task_id"]: position for position, task in enumerate(tasks)}
    copied: set[int] = set()
    defaults = {change.field: _default(change.field, data) for change in applied}
    for change in applied:
        for task_id in change.task_ids:
            if task_id is None:
                # The only DAG-level field (decision.models.DAG_FIELDS).
                dag[change.field] = sorted(set(change.after))
                continue
            position = index[task_id]
            if position not in copied:
                # Copied down to the mapping written into, not deeper: the rest is shared, never written.
                var = dict(tasks[position][_VAR])
                if "partial_kwargs" in var:
                    var["partial_kwargs"] = dict(var["partial_kwargs"])
                tasks[position] = {**tasks[position], _VAR: var}
                copied.add(position)
            var = tasks[position][_VAR]
            mapped = bool(var.get("_is_mapped"))
            held = var.setdefault("partial_kwargs", {}) if mapped else var
            value = _encoded(change.field, change.after, mapped=mapped)
            _write(held, change.field, value, defaults[change.field])
    dag["tasks"] = tasks
    return {**data, "dag": dag}
