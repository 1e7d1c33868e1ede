"""Parse one DAG file with Airflow's DagBag, in a forked child, into its DAGs' input documents.

The installed Airflow modules the file imports are imported first, in the parent, as the DAG processor's manager
does, so that each child inherits them; nothing else is (neither the file nor a module beside it).

Airflow's policy hooks are neutralised in the child: a file that rebinds ``airflow.settings.dag_policy``
or unregisters plugins changes nothing, because the caller decides on the documents the child sends back,
and the next file gets a fresh child forked from an untouched parent.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import importlib.util
import multiprocessing
import multiprocessing.connection
import os
import sys
import sysconfig
import traceback
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

from pydantic import ValidationError

from airflow_policies.document.builder import airflow_info, build_input, forget_loaded_executors
from airflow_policies.document.models import BundleInfo, InputDocument

__all__ = ["parse_documents"]

_FILE_TIMEOUT_SECONDS = 300
#: Where installed code lives (``sysconfig`` path names): the only modules imported before the fork.
_INSTALLED_PATHS = ("stdlib", "platstdlib", "purelib", "platlib")


def _configure_executors(executors: str) -> None:
    """Make this (forked) process's Airflow see ``[core] executor = executors``, as it checks DAGs' executors."""
    from airflow.configuration import conf

    conf.set("core", "executor", executors)
    forget_loaded_executors()


def _parse_in_child(
    path: str, root: str, bundle: BundleInfo, executors: str | None, conn: multiprocessing.connection.Connection
) -> None:
    # Airflow and DAG code print to stdout; send that to stderr so stdout carries only the report.
    os.dup2(2, 1)
    try:
        from airflow import settings
        from airflow.dag_processing.dagbag import BundleDagBag

        if executors is not None:
            _configure_executors(executors)

        # Decisions are made by the parent; hook-based policies here would only reject DAGs early.
        settings.dag_policy = lambda dag: None
        settings.task_policy = lambda task: None
        # As the DAG processor parses a bundle's file: the bundle root on sys.path (helper modules and packages
        # beside the DAGs import), in this forked child only.
        bag = BundleDagBag(
            dag_folder=path, bundle_path=Path(root), bundle_name=bundle.name, safe_mode=False, load_op_links=False
        )
        documents = [
            build_input(dag, bundle=bundle, enforcement_point="check").model_dump_json()
            for dag in sorted(bag.dags.values(), key=lambda d: d.dag_id)
        ]
        conn.send((documents, dict(bag.import_errors)))
    except BaseException:
        conn.send(([], {os.path.relpath(path, root): traceback.format_exc(limit=5)}))
    finally:
        conn.close()
        os._exit(0)


@cache
def _installed_roots() -> frozenset[Path]:
    return frozenset(Path(p).resolve() for key, p in sysconfig.get_paths().items() if key in _INSTALLED_PATHS)


def _installed(spec: importlib.machinery.ModuleSpec) -> bool:
    """Whether a module is installed code (site-packages, the standard library), not a file beside the DAGs: an
    ``airflow/`` folder in a DAG repository can extend Airflow's namespace package when it is on ``sys.path``."""
    roots = _installed_roots()
    locations = [spec.origin] if spec.origin not in (None, "built-in", "frozen") else []
    locations += list(spec.submodule_search_locations or [])
    return bool(locations) and all(
        any(Path(location).resolve().is_relative_to(root) for root in roots) for location in locations
    )


def _pre_import_airflow_modules(path: Path) -> None:
    """Import, in this process, the installed Airflow modules the file imports, as the DAG processor's manager does
    before it forks a parse child (``[dag_processor] parsing_pre_import_modules``): each child then inherits them
    instead of importing them again (a sample importing the Kubernetes provider parses in 0.3 s instead of 1.6 s).
    The file itself never runs here, nor does any module that is not installed code, package by package."""
    from airflow.configuration import conf
    from airflow.utils.file import iter_airflow_imports

    if not conf.getboolean("dag_processor", "parsing_pre_import_modules", fallback=True):
        return
    with _stdout_to_stderr():  # what the imports print (deprecation warnings) must not mix into a report on stdout
        _import_installed(iter_airflow_imports(str(path)))


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _import_installed(modules: Iterable[str]) -> None:
    for module in modules:
        parts = module.split(".")
        for depth in range(2, len(parts) + 1):
            name = ".".join(parts[:depth])
            if name in sys.modules:
                continue
            try:
                spec = importlib.util.find_spec(name)
                if spec is None or not _installed(spec):
                    break
                importlib.import_module(name)
            except Exception:  # the child's own import of the file reports it, as Airflow's does
                break


def _parse_file(path: Path, root: Path, bundle: BundleInfo, executors: str | None) -> tuple[list[str], dict[str, str]]:
    _pre_import_airflow_modules(path)
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_parse_in_child, args=(str(path), str(root), bundle, executors, sender))
    child.start()
    sender.close()
    try:
        if receiver.poll(_FILE_TIMEOUT_SECONDS):
            documents, import_errors = receiver.recv()
            return list(documents), dict(import_errors)
        return [], {str(path.relative_to(root)): f"parsing did not finish within {_FILE_TIMEOUT_SECONDS}s"}
    except EOFError:
        return [], {str(path.relative_to(root)): "the parse process exited without a result"}
    finally:
        child.join(timeout=5)
        if child.is_alive():
            child.kill()
            child.join()


def parse_documents(
    path: Path, root: Path, bundle: BundleInfo, executors: str | None = None
) -> tuple[list[InputDocument], list[str]]:
    """Parse one DAG file (in a forked child, as ``check`` does) into its DAGs' input documents.

    ``executors`` replaces this deployment's ``[core] executor`` for Airflow's own check of the tasks'
    executors (the samples' deployment: the documents' ``airflow.executors`` are then the caller's to set).

    Returns:
        The input documents, in dag_id order, and the file's import errors.
    """
    airflow_info()  # read here, so the forked child inherits it instead of reading after DAG code ran
    raw_documents, import_errors = _parse_file(path, root, bundle, executors)
    relative = str(path.relative_to(root))
    errors = [import_errors[relative]] if relative in import_errors else []
    documents = []
    for raw in raw_documents:
        try:
            documents.append(InputDocument.model_validate_json(raw))
        except ValidationError as exc:
            errors.append(f"the parse produced an invalid input document: {exc}")
    return documents, errors
