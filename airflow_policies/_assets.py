"""Describe the assets a DAG consumes and produces."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from airflow.sdk.definitions.asset import (
    Asset,
    AssetAlias,
    AssetBooleanCondition,
    AssetNameRef,
    AssetUriRef,
)
from airflow.sdk.definitions.timetables.assets import AssetTriggeredTimetable

from airflow_policies._references import connection_references
from airflow_policies._safe import safe_getattr, safe_repr, type_name
from airflow_policies.document import AssetAccess, AssetReference, ConnectionReference, Watcher

__all__ = ["asset_references", "schedule_assets", "watcher_connections"]

_MAX_CONDITION_DEPTH = 50


def _leaves(condition: object, depth: int = 0) -> Iterator[object]:
    if isinstance(condition, AssetBooleanCondition) and depth < _MAX_CONDITION_DEPTH:
        for obj in safe_getattr(condition, "objects", None) or ():
            yield from _leaves(obj, depth + 1)
    else:
        yield condition


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _watcher(watcher: object) -> Watcher:
    trigger = safe_getattr(watcher, "trigger")
    attributes = safe_getattr(trigger, "__dict__", None) or {}
    name = _str_or_none(safe_getattr(watcher, "name")) or safe_repr(watcher)
    return Watcher(
        name=name,
        trigger=type_name(trigger),
        connections=connection_references(attributes, "watcher", f"watcher:{name}:"),
    )


def _access(asset: Asset) -> AssetAccess | None:
    control = safe_getattr(asset, "access_control")
    if control is None or not hasattr(control, "allow_global"):
        return None
    consumers = safe_getattr(control, "consumer_teams")
    return AssetAccess(
        producer_teams=[t for t in safe_getattr(control, "producer_teams", None) or () if isinstance(t, str)],
        consumer_teams=None if consumers is None else [t for t in consumers if isinstance(t, str)],
        allow_global=safe_getattr(control, "allow_global") is not False,
    )


def describe_asset(obj: object) -> AssetReference:
    """One asset reference; anything unrecognised becomes ``kind: unknown``."""
    kind_type = type_name(obj)
    if isinstance(obj, AssetAlias):
        return AssetReference(kind="alias", name=_str_or_none(obj.name), group=_str_or_none(obj.group), type=kind_type)
    if isinstance(obj, AssetNameRef):
        return AssetReference(kind="name_ref", name=_str_or_none(obj.name), type=kind_type)
    if isinstance(obj, AssetUriRef):
        return AssetReference(kind="uri_ref", uri=_str_or_none(obj.uri), type=kind_type)
    if isinstance(obj, Asset):
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


def schedule_assets(timetable: object) -> list[AssetReference]:
    """The leaves of an asset-triggered schedule (``AssetAll`` / ``AssetAny`` trees walked)."""
    if not isinstance(timetable, AssetTriggeredTimetable):
        return []
    return [describe_asset(leaf) for leaf in _leaves(safe_getattr(timetable, "asset_condition"))]


def asset_references(objects: object) -> list[AssetReference]:
    """Inlets or outlets of a task."""
    if objects is None:
        return []
    if not isinstance(objects, Iterable) or isinstance(objects, (str, bytes)):
        objects = [objects]
    return [describe_asset(obj) for obj in objects]


def watcher_connections(assets: list[AssetReference]) -> list[ConnectionReference]:
    """Every connection the watchers of these assets name."""
    return [ref for asset in assets for watcher in asset.watchers for ref in watcher.connections]
