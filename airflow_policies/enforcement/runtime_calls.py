"""What one Execution API call of a running task reaches, and how that enters its DAG's input document.

:func:`call_of` reads a matched request (path, query, and for a state update its JSON body) into a
:class:`Call`: what the task asks for, by name. :func:`with_call` adds the call to the task in the DAG's
input document as ``runtime`` references, so the same rules that judge a DAG at parse time judge what the
task does at run time: a connection or Variable it reads (or writes), a DAG it triggers, clears or queries,
an asset it reads, whose state store it uses, or that it reports events for, a connection its trigger names.

Nothing here trusts the task: every name comes from the request it sent, and a name the request can hide
(encrypted trigger kwargs, a non-string connection id) becomes an unverifiable reference, which is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast

from airflow_policies.document.models import (
    AssetReference,
    ConnectionReference,
    DagReference,
    InputDocument,
    TaskInfo,
    TriggerReference,
    VariableReference,
)
from airflow_policies.document.references import is_callable_attribute, is_connection_attribute, kwargs_named
from airflow_policies.document.safe import safe_repr
from airflow_policies.enforcement.execution_routes import NAME_DECISIONS, NameDecision, RouteMatch

__all__ = ["AssetCatalog", "Call", "CallKind", "Target", "call_of", "trigger_call", "with_call"]

#: What a call does; the route's decision, except that a state update produces assets or defers, and that an
#: in-process channel also decides XCom use and acts on task instances (by their DAG).
CallKind = Literal[NameDecision, "asset_produce", "trigger_defer", "dag_xcom", "task_instance"]

#: One thing a call names: ``(kind, value, ...)``, e.g. ``("dag_id", "team_b__ledger")``,
#: ``("asset", name, uri)``, ``("trigger_conn", classpath, kwarg, conn_id)``.
Target = tuple[str, ...]

_SDK_ASSET_TYPES = {
    "asset": "airflow.sdk.definitions.asset.Asset",
    "state_store": "airflow.sdk.definitions.asset.Asset",
    "alias": "airflow.sdk.definitions.asset.AssetAlias",
    "name_ref": "airflow.sdk.definitions.asset.AssetNameRef",
    "uri_ref": "airflow.sdk.definitions.asset.AssetUriRef",
}


@dataclass(frozen=True)
class Call:
    """What one request of a task reaches: its kind, the names it gives, and the route it came by."""

    kind: CallKind
    targets: tuple[Target, ...]
    location: str

    def describe(self) -> str:
        """What the task asked to do, for the refusal message."""
        named = ", ".join(_describe_target(t) for t in self.targets)
        return f"{_VERBS[self.kind]} {named}"


_VERBS: dict[CallKind, str] = {
    "connection_read": "read",
    "variable_read": "read",
    "variable_write": "write or delete",
    "dag_trigger": "trigger",
    "dag_clear": "clear a run of",
    "dag_state": "read the state of",
    "asset_read": "read",
    "asset_state": "use the state store of",
    "asset_produce": "report asset events for",
    "trigger_defer": "defer to",
    "dag_xcom": "use the XComs of",
    "task_instance": "act on a task instance of",
}


_TARGET_LABELS = {
    "conn_id": "connection",
    "variable": "Variable",
    "dag_id": "DAG",
    "asset_name": "asset",
    "asset_uri": "asset",
    "alias": "asset alias",
}


#: How a target with more than a name reads in a refusal, by kind (its values in order).
_TARGET_TEXTS = {
    "asset": "asset '{1}' (name '{0}')",
    "asset_key_unreadable": "an outlet event destination that cannot be read ({0})",
    "trigger": "trigger '{0}'",
    "trigger_callable": "trigger '{0}' importing '{2}' ({1})",
    "trigger_conn": "trigger '{0}' with connection '{2}' ({1})",
    "trigger_conn_unreadable": "trigger '{0}' with a connection that cannot be read ({1})",
    "trigger_kwargs": "trigger '{0}' with kwargs that cannot be read",
}


def _describe_target(target: Target) -> str:
    kind, *values = target
    if kind in _TARGET_TEXTS:
        return _TARGET_TEXTS[kind].format(*values)
    return f"{_TARGET_LABELS[kind]} '{values[0]}'"


def call_of(match: RouteMatch, query: list[tuple[str, str]], body: bytes | None) -> Call | None:
    """The call a matched request makes, or ``None`` when it names nothing the guard decides (Airflow then
    refuses a malformed request itself)."""
    route = match.route
    location = f"Execution API {route.method} {route.path}"
    if route.decision == "state_update":
        return _state_update(body, location)
    targets: list[Target] = []
    for param in route.targets:
        if param.where == "path":
            values = [match.path_params[param.name]] if param.name in match.path_params else []
        else:
            # Every value: which of several Airflow reads is FastAPI's choice, so each one must pass. An empty one
            # names nothing (Airflow reads ``name=`` as no name).
            values = [value for name, value in query if name == param.name and value]
        targets.extend((param.kind, value) for value in dict.fromkeys(values))
    if not targets or route.decision not in NAME_DECISIONS:
        return None
    return Call(cast("NameDecision", route.decision), tuple(targets), location)


def _state_update(body: bytes | None, location: str) -> Call | None:
    try:
        payload = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        return None  # Airflow answers 422 and changes nothing
    if not isinstance(payload, dict):
        return None
    if payload.get("state") == "success":
        produced = tuple(dict.fromkeys(_produced(payload)))
        return Call("asset_produce", produced, location) if produced else None
    if payload.get("state") == "deferred":
        return trigger_call(str(payload.get("classpath")), payload.get("trigger_kwargs", {}), location)
    return None


def trigger_call(classpath: str, kwargs: object, location: str) -> Call:
    """Running trigger ``classpath`` with ``kwargs``: the class, the callables and the connections they name (a
    string stands for kwargs sent encrypted, which cannot be read)."""
    return Call("trigger_defer", tuple(dict.fromkeys(_trigger_targets(classpath, kwargs))), location)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _produced(payload: Mapping[str, Any]) -> Iterator[Target]:
    """Every asset a success reports: declared outlets, and the destination of every outlet event (an event
    through an ``AssetAlias`` creates the asset it names if it does not exist)."""
    outlets = payload.get("task_outlets")
    for outlet in outlets if isinstance(outlets, list) else ():
        if not isinstance(outlet, dict):
            continue
        kind, name, uri = outlet.get("type"), _text(outlet.get("name")), _text(outlet.get("uri"))
        if kind == "Asset" and name and uri:
            yield ("asset", name, uri)
        elif kind == "AssetNameRef" and name:
            yield ("asset_name", name)
        elif kind == "AssetUriRef" and uri:
            yield ("asset_uri", uri)
        elif kind == "AssetAlias" and name:
            yield ("alias", name)
    events = payload.get("outlet_events")
    for event in events if isinstance(events, list) else ():
        destination = event.get("dest_asset_key") if isinstance(event, dict) else None
        # Airflow builds SerializedAssetUniqueKey(**dest_asset_key) from whatever is there (an empty name, a
        # number, a key missing): anything but two non-empty strings is a destination the guard cannot name.
        if isinstance(destination, dict) and set(destination) == {"name", "uri"}:
            name, uri = _text(destination["name"]), _text(destination["uri"])
            if name and uri:
                yield ("asset", name, uri)
                continue
        yield ("asset_key_unreadable", safe_repr(destination))


def _trigger_targets(classpath: str, kwargs: object) -> Iterator[Target]:
    if isinstance(kwargs, str):
        # Airflow stores a string as the client's encrypted kwargs, unread: nothing in it can be checked.
        yield ("trigger_kwargs", classpath)
        return
    yield ("trigger", classpath)
    for location, value in kwargs_named(kwargs, is_callable_attribute):
        yield ("trigger_callable", classpath, location, value if isinstance(value, str) else safe_repr(value))
    for location, value in kwargs_named(kwargs, is_connection_attribute):
        if isinstance(value, str):
            yield ("trigger_conn", classpath, location, value)
        else:  # a serialized object in place of a connection id: whose connection it is cannot be told
            yield ("trigger_conn_unreadable", classpath, location, safe_repr(value))


class AssetCatalog(Protocol):
    """The metadata DB's view of assets, for the names a call gives."""

    def uri_of(self, name: str) -> str | None:
        """The URI of the active asset called ``name``, or ``None``."""

    def assets_of_alias(self, alias: str) -> list[tuple[str, str]]:
        """``(name, uri)`` of every asset the alias holds."""


def _asset(kind: str, name: str | None = None, uri: str | None = None) -> AssetReference:
    return AssetReference.model_validate({"kind": kind, "name": name, "uri": uri, "type": _SDK_ASSET_TYPES[kind]})


def _assets(target: Target, catalog: AssetCatalog, *, state_store: bool = False) -> list[AssetReference]:
    """The asset references a target stands for. A name is resolved to its asset, so the rules judge the URI
    Airflow will use; an alias read reaches every asset the alias holds; a destination that cannot be read is an
    unknown reference (``assets.unknown_asset_reference``)."""
    kind, value, *rest = target
    if kind == "asset_key_unreadable":
        return [AssetReference(kind="unknown", type=f"outlet event destination {value}")]
    if kind == "asset":
        return [_asset("state_store" if state_store else "asset", value, rest[0])]
    if kind == "asset_uri":
        return [_asset("state_store" if state_store else "uri_ref", None, value)]
    if kind == "asset_name":
        uri = catalog.uri_of(value)
        if state_store:
            return [_asset("state_store", value, uri)]
        return [_asset("asset", value, uri) if uri is not None else _asset("name_ref", value)]
    return [_asset("alias", value)]


_DAG_REFERENCE_KINDS: dict[str, str] = {
    "dag_trigger": "trigger",
    "dag_clear": "clear",
    "dag_state": "state",
    "dag_xcom": "xcom",
    "task_instance": "task_instance",
}


def _added(task: TaskInfo, call: Call, catalog: AssetCatalog) -> TaskInfo:
    kind, location = call.kind, call.location
    if kind == "connection_read":
        conns = [
            ConnectionReference(conn_id=t[1], verifiable=True, raw=t[1], source="runtime", location=location)
            for t in call.targets
        ]
        return task.model_copy(update={"connections": [*task.connections, *conns]})
    if kind in ("variable_read", "variable_write"):
        source = "runtime" if kind == "variable_read" else "runtime_write"
        variables = [
            VariableReference(key=t[1], verifiable=True, raw=t[1], source=source, location=location)
            for t in call.targets
        ]
        return task.model_copy(update={"variables": [*task.variables, *variables]})
    if kind in _DAG_REFERENCE_KINDS:
        ref_kind = _DAG_REFERENCE_KINDS[kind]
        refs = [
            DagReference.model_validate(
                {"dag_id": t[1], "kind": ref_kind, "verifiable": True, "raw": t[1], "location": location}
            )
            for t in call.targets
        ]
        return task.model_copy(update={"dag_refs": [*task.dag_refs, *refs]})
    if kind == "asset_read":
        inlets = [a for t in call.targets for a in _assets(t, catalog)]
        held = [
            _asset("asset", n, u) for t in call.targets if t[0] == "alias" for n, u in catalog.assets_of_alias(t[1])
        ]
        return task.model_copy(update={"inlets": [*task.inlets, *inlets, *held]})
    if kind == "trigger_defer":
        return task.model_copy(
            update={
                "connections": [*task.connections, *_trigger_connections(call.targets)],
                "triggers": [*task.triggers, *_triggers(call.targets, location)],
            }
        )
    # Producing names the asset the event is for; an alias outlet's assets arrive as their own targets.
    outlets = [a for t in call.targets for a in _assets(t, catalog, state_store=kind == "asset_state")]
    return task.model_copy(update={"outlets": [*task.outlets, *outlets]})


def _triggers(targets: tuple[Target, ...], location: str) -> list[TriggerReference]:
    """The trigger a deferral hands over, with the callables its kwargs name; unreadable kwargs: unverifiable."""
    refs = []
    for kind, classpath, *_ in targets:
        if kind in ("trigger", "trigger_kwargs"):
            callables = [t[3] for t in targets if t[0] == "trigger_callable" and t[1] == classpath]
            refs.append(
                TriggerReference(
                    classpath=classpath, callables=callables, verifiable=kind == "trigger", source="runtime",
                    location=location,
                )
            )  # fmt: skip
    return refs


def _trigger_connections(targets: tuple[Target, ...]) -> list[ConnectionReference]:
    refs = []
    for kind, classpath, *rest in targets:
        if kind in ("trigger", "trigger_callable"):
            continue
        if kind == "trigger_conn":
            kwarg, conn_id = rest
            refs.append(
                ConnectionReference(
                    conn_id=conn_id, verifiable=True, raw=conn_id, source="runtime",
                    location=f"trigger {classpath}: {kwarg}",
                )
            )  # fmt: skip
        else:  # kwargs or a connection id the guard cannot read: unverifiable, so refused
            location = f"trigger {classpath}: {rest[0]}" if rest else f"trigger {classpath}"
            raw = rest[1] if rest else "<encrypted trigger kwargs>"
            refs.append(
                ConnectionReference(conn_id=None, verifiable=False, raw=raw, source="runtime", location=location)
            )
    return refs


def with_call(document: InputDocument, task_id: str, call: Call, catalog: AssetCatalog) -> InputDocument:
    """The document with ``call`` added to task ``task_id`` as ``runtime`` references.

    A task the document does not hold (the DAG version lost it) gets no references, so the document the
    rules see is the DAG's own; the caller refuses such a call.
    """
    tasks = [_added(t, call, catalog) if t.task_id == task_id else t for t in document.tasks]
    return document.model_copy(update={"tasks": tasks})
