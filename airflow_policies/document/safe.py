"""Reading author-controlled objects without ever raising.

DAG files can hold anything: properties that raise, objects whose ``__repr__`` raises, cycles, bytes,
huge strings. Every read of such an object in the input builder goes through these helpers.
"""

from __future__ import annotations

import datetime
import enum
from typing import Any

__all__ = ["MAX_STRING", "UNREADABLE", "json_safe", "safe_getattr", "safe_getattrs", "safe_repr", "type_name"]

#: Longest string copied into the input document; longer ones are truncated with a marker.
MAX_STRING = 4096
_MAX_DEPTH = 20
_MAX_ITEMS = 1000


class _Unreadable:
    """Marker for an attribute whose read raised."""

    def __repr__(self) -> str:
        return "<unreadable>"


UNREADABLE: Any = _Unreadable()


def safe_getattr(obj: object, name: str, default: Any = None) -> Any:  # noqa: ANN401 - any attribute
    """``getattr`` that turns a raising property into :data:`UNREADABLE`."""
    try:
        return getattr(obj, name, default)
    except Exception:
        return UNREADABLE


def safe_getattrs(obj: object, names: tuple[str, ...]) -> list[Any]:
    """:func:`safe_getattr` of each name (default ``None``), in order, each read once.

    One loop rather than a call per name: a task has some 20 attributes to read, and the builder runs in
    every parse.
    """
    values: list[Any] = []
    for name in names:
        try:
            values.append(getattr(obj, name, None))
        except Exception:
            values.append(UNREADABLE)
    return values


def type_name(obj: object) -> str:
    """``module.QualifiedName`` of the object's type."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def truncate(text: str, limit: int = MAX_STRING) -> str:
    """Cut ``text`` to ``limit`` characters, saying how much was dropped."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[{len(text) - limit} more characters]"


def safe_repr(obj: object, limit: int = 200) -> str:
    """``repr`` that never raises and never gets long."""
    if isinstance(obj, str):
        return truncate(obj, limit)
    try:
        text = repr(obj)
    except Exception:
        text = f"<{type_name(obj)} with a failing __repr__>"
    return truncate(text, limit)


def json_safe(value: object, _depth: int = 0, _seen: frozenset[int] = frozenset()) -> Any:  # noqa: ANN401
    """A JSON-compatible copy of ``value``; anything else becomes ``{"__unknown__": type}``."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if type(value) is dict and not value:
        return {}  # what most tasks' executor_config holds
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if isinstance(value, str):
        return truncate(value)
    if isinstance(value, bytes):
        return {"__unknown__": "bytes", "length": len(value)}
    if isinstance(value, enum.Enum):
        return json_safe(value.value, _depth + 1, _seen)
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if _depth >= _MAX_DEPTH or id(value) in _seen:
        return {"__unknown__": type_name(value), "reason": "cycle or too deep"}
    seen = _seen | {id(value)}
    if isinstance(value, dict):
        items = list(value.items())[:_MAX_ITEMS]
        return {
            safe_repr(k) if not isinstance(k, str) else truncate(k): json_safe(v, _depth + 1, seen) for k, v in items
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=safe_repr) if isinstance(value, (set, frozenset)) else list(value)
        return [json_safe(v, _depth + 1, seen) for v in items[:_MAX_ITEMS]]
    return {"__unknown__": type_name(value)}
