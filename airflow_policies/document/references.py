"""Find the connections, variables and DAGs a task names.

References come from operator attributes (``conn_id`` / ``*_conn_id``, ``trigger_dag_id``,
``external_dag_id``), from mapped ``expand()`` values, and from Jinja in templated fields
(``{{ conn.<id> }}``, ``{{ var.value.<key> }}``). Anything that cannot be resolved at parse time is kept
as an *unverifiable* reference so rules can reject it instead of silently missing it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from airflow.sdk.definitions._internal.types import ArgNotSet

from airflow_policies.document.models import (
    ConnectionReference,
    DagReference,
    ReferenceSource,
    VariableReference,
)
from airflow_policies.document.safe import MAX_STRING, UNREADABLE, safe_repr

__all__ = [
    "DAG_REFERENCE_ATTRIBUTES",
    "connection_references",
    "dag_references",
    "is_connection_attribute",
    "template_references",
]

#: Attributes naming another DAG, and what kind of reference each is.
DAG_REFERENCE_ATTRIBUTES = {"trigger_dag_id": "trigger", "external_dag_id": "external_sensor"}

_JINJA_BLOCK = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_QUOTED = r"""\s*['"]([^'"]+)['"]\s*"""
_CONN_PATTERNS = (
    re.compile(rf"\bconn\s*\.\s*get\s*\({_QUOTED}"),
    re.compile(rf"\bconn\s*\[{_QUOTED}\]"),
    re.compile(r"\bconn\s*\.\s*(?!get\b)([A-Za-z_][A-Za-z0-9_\-]*)"),
)
_DYNAMIC_CONN = re.compile(r"""\bconn\s*(?:\[\s*(?!['"])|\.\s*get\s*\(\s*(?!['"]))""")
_VAR_PATTERNS = (
    re.compile(rf"\bvar\s*\.\s*(?:value|json)\s*\.\s*get\s*\({_QUOTED}"),
    re.compile(rf"\bvar\s*\.\s*(?:value|json)\s*\[{_QUOTED}\]"),
    re.compile(r"\bvar\s*\.\s*(?:value|json)\s*\.\s*(?!get\b)([A-Za-z_][A-Za-z0-9_\-]*)"),
)
_DYNAMIC_VAR = re.compile(r"""\bvar\s*\.\s*(?:value|json)\s*(?:\[\s*(?!['"])|\.\s*get\s*\(\s*(?!['"]))""")
_MAX_WALK_DEPTH = 12
# Attribute names seen so far, in their order -> those of them that hold a connection id. The tasks of one
# operator class share one list of attribute names, so each name is tested once per class, not once per task.
_CONNECTION_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}
_MAX_CACHED_NAME_LISTS = 1024
# (template text, field) -> what it names. The tasks of a generated DAG repeat their templates, so each text
# is scanned once per process. Keys are exact strs only (a str subclass could compare equal to another text),
# of at most MAX_STRING characters, so the cache stays under ~16 MB however long the templates.
_TEMPLATES: dict[tuple[str, str], tuple[tuple[ConnectionReference, ...], tuple[VariableReference, ...]]] = {}
_MAX_CACHED_TEMPLATES = 4096


def is_connection_attribute(name: object) -> bool:
    """Whether an attribute name conventionally holds a connection id."""
    if not isinstance(name, str):
        return False
    text = str.__str__(name)  # the name itself: an author's str subclass can answer endswith() as it likes
    return text == "conn_id" or text.endswith("_conn_id")


def is_callable_attribute(name: object) -> bool:
    """Whether a trigger kwarg conventionally names a callable for the trigger to import and run (Airflow's
    ``CallbackTrigger.callback_path``, and ``callable`` / ``*_callable`` / ``*_callback_path`` likewise)."""
    if not isinstance(name, str):
        return False
    text = str.__str__(name)
    return text in ("callable", "callback_path") or text.endswith(("_callable", "_callback_path"))


_MAX_KWARGS_DEPTH = 12


def kwargs_named(
    kwargs: object, is_name: Callable[[object], bool], prefix: str = "", depth: int = 0
) -> Iterator[tuple[str, object]]:
    """``(kwarg path, value)`` of every key ``is_name`` accepts with a value set, at any depth of a trigger's
    kwargs (mappings, lists and tuples)."""
    if depth > _MAX_KWARGS_DEPTH:
        return
    if isinstance(kwargs, Mapping):
        for key, value in kwargs.items():
            path = f"{prefix}{key}"
            if is_name(key) and value is not None:
                yield path, value
            else:
                yield from kwargs_named(value, is_name, f"{path}.", depth + 1)
    elif isinstance(kwargs, (list, tuple)):
        for index, value in enumerate(kwargs):
            yield from kwargs_named(value, is_name, f"{prefix}{index}.", depth + 1)


def _is_template(text: str) -> bool:
    text = str.__str__(text)  # the text itself, whatever an author's str subclass answers to `in`
    return "{{" in text or "{%" in text


def _is_unset(value: object) -> bool:
    # Airflow's own "not set" (an author's class named ArgNotSet is a value), and the empty text, measured on
    # the text itself: an author's str subclass can answer len() and bool() as it likes.
    if isinstance(value, str):
        return str.__len__(value) == 0
    return value is None or isinstance(value, ArgNotSet)


def _reference(value: object, source: ReferenceSource, location: str) -> ConnectionReference:
    if isinstance(value, str) and not _is_template(value):
        return ConnectionReference(conn_id=value, verifiable=True, raw=value, source=source, location=location)
    return ConnectionReference(conn_id=None, verifiable=False, raw=safe_repr(value), source=source, location=location)


def _connection_names(attributes: Mapping[str, Any]) -> tuple[str, ...]:
    names = tuple(attributes)
    found = _CONNECTION_NAMES.get(names)
    if found is None:
        found = tuple(name for name in attributes if is_connection_attribute(name))
        if len(_CONNECTION_NAMES) >= _MAX_CACHED_NAME_LISTS:
            _CONNECTION_NAMES.clear()
        _CONNECTION_NAMES[names] = found
    return found


def connection_references(
    attributes: Mapping[str, Any], source: ReferenceSource, location_prefix: str = ""
) -> list[ConnectionReference]:
    """One reference per ``conn_id`` / ``*_conn_id`` attribute that is set, in attribute order."""
    refs = []
    for name in _connection_names(attributes):
        value = attributes[name]
        if not _is_unset(value):
            refs.append(_reference(value, source, f"{location_prefix}{str.__str__(name)}"))
    return refs


def expand_connection_references(expand_value: Mapping[str, Any]) -> list[ConnectionReference]:
    """References from a mapped task's ``expand(...)`` keyword arguments."""
    refs: list[ConnectionReference] = []
    for name, value in expand_value.items():
        if not is_connection_attribute(name):
            continue
        location = f"expand:{name}"
        if isinstance(value, (list, tuple)):
            refs.extend(_reference(v, "mapped_expand", location) for v in value if not _is_unset(v))
        else:  # an XComArg or another lazy value: resolved only at run time
            refs.append(_reference(value, "mapped_expand", location))
    return refs


def _dag_reference(value: object, kind: str, location: str) -> DagReference:
    if isinstance(value, str) and not _is_template(value):
        return DagReference(dag_id=value, kind=kind, verifiable=True, raw=value, location=location)
    return DagReference(dag_id=None, kind=kind, verifiable=False, raw=safe_repr(value), location=location)


def dag_references(attributes: Mapping[str, Any]) -> list[DagReference]:
    """References to other DAGs from ``trigger_dag_id`` / ``external_dag_id`` attributes."""
    refs: list[DagReference] = []
    for name, kind in DAG_REFERENCE_ATTRIBUTES.items():
        value = attributes.get(name)
        if _is_unset(value):
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        refs.extend(_dag_reference(v, kind, name) for v in values)
    return refs


def _strings(value: object, depth: int = 0, seen: frozenset[int] = frozenset()) -> Iterator[str]:
    if isinstance(value, str):
        yield value
        return
    if depth >= _MAX_WALK_DEPTH or id(value) in seen or value is UNREADABLE:
        return
    seen = seen | {id(value)}
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key, depth + 1, seen)
            yield from _strings(item, depth + 1, seen)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _strings(item, depth + 1, seen)


def _template_names(
    block: str, keyword: str, patterns: tuple[re.Pattern[str], ...], dynamic: re.Pattern[str]
) -> list[str | None]:
    """Literal names the patterns find in a Jinja block, plus ``None`` for a name computed at run time."""
    if keyword not in block:
        return []  # every pattern starts with the keyword: most blocks name no connection, or no Variable
    names: list[str | None] = [name for pattern in patterns for name in pattern.findall(block)]
    if dynamic.search(block):
        names.append(None)
    return names


def template_references(value: object, location: str) -> tuple[list[ConnectionReference], list[VariableReference]]:
    """Connections and variables named by Jinja anywhere inside a templated field's value.

    Each name (or run-time choice) is reported once per field, however often the templates repeat it, so
    the input document stays bounded by what the field names, not by how long it is.
    """
    if value is None or (isinstance(value, str) and not str.__contains__(value, "{")):
        return [], []  # the common case: no Jinja at all
    if type(value) is not str or len(value) > MAX_STRING:
        conns, variables = _scan_templates(value, location)
        return list(conns), list(variables)
    found = _TEMPLATES.get((value, location))
    if found is None:
        found = _scan_templates(value, location)
        if len(_TEMPLATES) >= _MAX_CACHED_TEMPLATES:
            _TEMPLATES.clear()
        _TEMPLATES[value, location] = found
    return list(found[0]), list(found[1])


def _scan_templates(
    value: object, location: str
) -> tuple[tuple[ConnectionReference, ...], tuple[VariableReference, ...]]:
    conns: dict[str | None, ConnectionReference] = {}
    variables: dict[str | None, VariableReference] = {}
    for text in _strings(value):
        for block in _JINJA_BLOCK.findall(text):
            for name in _template_names(block, "conn", _CONN_PATTERNS, _DYNAMIC_CONN):
                if name not in conns:
                    conns[name] = ConnectionReference(
                        conn_id=name, verifiable=name is not None, raw=safe_repr(block), source="template",
                        location=location,
                    )  # fmt: skip
            for name in _template_names(block, "var", _VAR_PATTERNS, _DYNAMIC_VAR):
                if name not in variables:
                    variables[name] = VariableReference(
                        key=name, verifiable=name is not None, raw=safe_repr(block), source="template",
                        location=location,
                    )  # fmt: skip
    return tuple(conns.values()), tuple(variables.values())
