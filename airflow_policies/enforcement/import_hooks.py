"""Wrap an Airflow module right after its first import, in whichever process imports it.

Used by the modules that wrap Airflow internals (:mod:`airflow_policies.enforcement.dag_warnings`,
:mod:`airflow_policies.enforcement.manager_recheck`). Wrapping on import rather than importing eagerly keeps the
cost out of every Airflow process that loads the policy but never uses the wrapped module.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

__all__ = ["HANDLE_REQUEST_PARAMETERS", "ShapeChangedError", "wrap_after_import"]

#: Called with the module; raises :class:`ShapeChangedError` when the internal is not what it expects.
Wrap = Callable[[ModuleType], None]
#: Called with the error when a wrap was skipped; must make that loud (log an error naming the internal).
OnSkipped = Callable[[Exception], None]

_wraps: dict[str, list[tuple[Wrap, OnSkipped]]] = {}

#: The parameters of a supervisor's ``_handle_request(msg, log, req_id)``, where Airflow serves a child's message:
#: wrapped by ``channels`` (every request) and ``manager_recheck`` (a DAG-processor child's parse result).
HANDLE_REQUEST_PARAMETERS = ["self", "msg", "log", "req_id"]


class ShapeChangedError(Exception):
    """An Airflow internal that airflow-policies wraps is missing or has another shape."""


def _marker(wrap: Wrap) -> str:
    return f"__airflow_policies_{wrap.__module__.replace('.', '_')}_{wrap.__name__}__"


def _apply(module: ModuleType, wrap: Wrap, on_skipped: OnSkipped) -> None:
    if getattr(module, _marker(wrap), False):
        return
    try:
        wrap(module)
    except ShapeChangedError as exc:
        on_skipped(exc)
        return
    setattr(module, _marker(wrap), True)


def _apply_all(module: ModuleType) -> None:
    for wrap, on_skipped in _wraps.get(module.__name__, ()):
        _apply(module, wrap, on_skipped)


class _WrapAfterImport(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _wraps:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        execute = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            _apply_all(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def wrap_after_import(module_name: str, wrap: Wrap, on_skipped: OnSkipped) -> None:
    """Apply ``wrap`` to ``module_name`` now if it is imported, else as soon as it is; at most once each."""
    registered = _wraps.setdefault(module_name, [])
    if all(existing is not wrap for existing, _ in registered):
        registered.append((wrap, on_skipped))
    if module_name in sys.modules:
        _apply(sys.modules[module_name], wrap, on_skipped)
    if not any(isinstance(finder, _WrapAfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _WrapAfterImport())
