"""Describe the assets a DAG consumes and produces.

Both forms are read: the SDK objects of a DAG being parsed, and the serialized objects of a DAG read back
from a parse result or the metadata DB (``airflow.serialization.definitions.assets``), where a watcher's
trigger is a ``{"classpath", "kwargs"}`` dict and access control a plain dict.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from airflow.sdk.definitions.asset import (
    Asset,
    AssetAlias,
    AssetBooleanCondition,
    AssetNameRef,
    AssetUriRef,
)
from airflow.sdk.definitions.timetables.assets import AssetTriggeredTimetable
from airflow.serialization.definitions.assets import (
    SerializedAsset,
    SerializedAssetAlias,
    SerializedAssetBooleanCondition,
    SerializedAssetNameRef,
    SerializedAssetUriRef,
)

from airflow_policies.document.models import AssetAccess, AssetReference, ConnectionReference, Watcher
from airflow_policies.document.references import connection_references, is_callable_attribute, kwargs_named
from airflow_policies.document.safe import safe_getattr, safe_repr, type_name

__all__ = ["asset_references", "schedule_assets", "watcher_connections"]

_MAX_CONDITION_DEPTH = 50


def _leaves(condition: object, depth: int = 0) -> Iterator[object]:
    if isinstance(condition, (AssetBooleanCondition, SerializedAssetBooleanCondition)) and depth < _MAX_CONDITION_DEPTH:
        for obj in safe_getattr(condition, "objects", None) or ():
            yield from _leaves(obj, depth + 1)
    else:
        yield condition


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _watcher(watcher: object) -> Watcher:
    trigger = safe_getattr(watcher, "trigger")
    name = _str_or_none(safe_getattr(watcher, "name")) or safe_repr(watcher)
    if isinstance(trigger, dict):  # serialized: the trigger's classpath and the kwargs it will be rebuilt with
        trigger_name = _str_or_none(trigger.get("classpath")) or safe_repr(trigger)
        kwargs = trigger.get("kwargs")
        attributes: Mapping[str, Any] = kwargs if isinstance(kwargs, dict) else {}
    else:
        serialized = _serialized(trigger)
        if serialized is not None:  # what Airflow stores and the triggerer imports: the trigger's own serialize()
            trigger_name, attributes = serialized
        else:
            trigger_name = type_name(trigger)
            attributes = safe_getattr(trigger, "__dict__", None) or {}
    return Watcher(
        name=name,
        trigger=trigger_name,
        connections=connection_references(attributes, "watcher", f"watcher:{name}:"),
        callables=[_callable_name(value) for _, value in kwargs_named(attributes, is_callable_attribute)],
    )


def _serialized(trigger: object) -> tuple[str, Mapping[str, Any]] | None:
    """``trigger.serialize()``, as Airflow serializes a watcher, or ``None`` when it does not give a classpath and
    kwargs. Only called at parse time, where the DAG file's own code has run already."""
    try:
        classpath, kwargs = trigger.serialize()  # type: ignore[attr-defined]
    except Exception:
        return None
    if not isinstance(classpath, str) or not isinstance(kwargs, dict):
        return None
    return str.__str__(classpath), kwargs


def _callable_name(value: object) -> str:
    # A callable given as the object itself is named by its type, so only an allow-listed dotted path passes.
    return value if isinstance(value, str) else safe_repr(value)


def _access(asset: object) -> AssetAccess | None:
    control = safe_getattr(asset, "access_control")
    if isinstance(control, dict):  # serialized: only the fields the author set
        read = control.get
    elif control is not None and hasattr(control, "allow_global"):
        read = functools.partial(safe_getattr, control)
    else:
        return None
    consumers = read("consumer_teams", None)
    if isinstance(consumers, (list, tuple)):
        consumers = [t for t in consumers if isinstance(t, str)]
    return AssetAccess(
        producer_teams=[t for t in read("producer_teams", None) or () if isinstance(t, str)],
        consumer_teams=consumers if isinstance(consumers, list) else None,
        allow_global=read("allow_global", True) is not False,
    )


# A serialized asset is reported as the SDK class it was written as (subclasses such as Dataset serialize as
# their base), so one DAG gets the same document at every enforcement point.
_SDK_CLASS_OF_SERIALIZED: dict[type, type] = {
    SerializedAsset: Asset,
    SerializedAssetAlias: AssetAlias,
    SerializedAssetNameRef: AssetNameRef,
    SerializedAssetUriRef: AssetUriRef,
}


def _type_of(obj: object) -> str:
    sdk_class = _SDK_CLASS_OF_SERIALIZED.get(type(obj))
    return f"{sdk_class.__module__}.{sdk_class.__qualname__}" if sdk_class else type_name(obj)


def describe_asset(obj: object) -> AssetReference:
    """One asset reference; anything unrecognised becomes ``kind: unknown``."""
    kind_type = _type_of(obj)
    if isinstance(obj, (AssetAlias, SerializedAssetAlias)):
        return AssetReference(kind="alias", name=_str_or_none(obj.name), group=_str_or_none(obj.group), type=kind_type)
    if isinstance(obj, (AssetNameRef, SerializedAssetNameRef)):
        return AssetReference(kind="name_ref", name=_str_or_none(obj.name), type=kind_type)
    if isinstance(obj, (AssetUriRef, SerializedAssetUriRef)):
        return AssetReference(kind="uri_ref", uri=_str_or_none(obj.uri), type=kind_type)
    if isinstance(obj, (Asset, SerializedAsset)):
        return AssetReference(
            kind="asset",
            name=_str_or_none(safe_getattr(obj, "name")),
            uri=_str_or_none(safe_getattr(obj, "uri")),
            group=_str_or_none(safe_getattr(obj, "group")),
            type=kind_type,
            watchers=[_watcher(w) for w in safe_getattr(obj, "watchers", None) or ()],
            access_control=_access(obj),
        )
    return AssetReference(kind="unknown", name=safe_repr(obj), type=kind_type)


def _asset_triggered(timetable: object) -> bool:
    if isinstance(timetable, AssetTriggeredTimetable):
        return True
    if not type(timetable).__module__.startswith("airflow.timetables."):
        return False
    # A serialized DAG's timetable is Airflow core's own class; imported only here, as it is slow to import.
    from airflow.timetables.simple import AssetTriggeredTimetable as CoreAssetTriggeredTimetable

    return isinstance(timetable, CoreAssetTriggeredTimetable)


def schedule_assets(timetable: object) -> list[AssetReference]:
    """The leaves of an asset-triggered schedule (``AssetAll`` / ``AssetAny`` trees walked)."""
    if not _asset_triggered(timetable):
        return []
    return [describe_asset(leaf) for leaf in _leaves(safe_getattr(timetable, "asset_condition"))]


def asset_references(objects: object) -> list[AssetReference]:
    """Inlets or outlets of a task."""
    if objects is None or (type(objects) is list and not objects):
        return []  # what most tasks hold
    if not isinstance(objects, Iterable) or isinstance(objects, (str, bytes)):
        objects = [objects]
    return [describe_asset(obj) for obj in objects]


def watcher_connections(assets: list[AssetReference]) -> list[ConnectionReference]:
    """Every connection the watchers of these assets name."""
    return [ref for asset in assets for watcher in asset.watchers for ref in watcher.connections]
