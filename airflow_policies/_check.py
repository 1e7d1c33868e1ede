"""``airflow-policies check``: parse a DAG folder with Airflow's DagBag and decide on every DAG.

Each file is parsed in its own forked child, with Airflow's policy hooks neutralised there: a file that
rebinds ``airflow.settings.dag_policy`` or unregisters plugins changes nothing, because the decision is
made in this (parent) process from the documents the child sends back, and the next file gets a fresh
child forked from an untouched parent.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import traceback
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from airflow_policies._config import MAX_INPUT_BYTES, FailureMode
from airflow_policies._input import airflow_info, build_input
from airflow_policies.decision import Decision
from airflow_policies.document import BundleInfo, InputDocument
from airflow_policies.report import CheckReport, FileResult
from airflow_policies.verdict import judge

__all__ = ["check_folder", "parse_documents"]

_FILE_TIMEOUT_SECONDS = 300


def _parse_in_child(path: str, root: str, bundle: BundleInfo, conn: multiprocessing.connection.Connection) -> None:
    # Airflow and DAG code print to stdout; send that to stderr so stdout carries only the report.
    os.dup2(2, 1)
    try:
        from airflow import settings
        from airflow.dag_processing.dagbag import DagBag

        # Decisions are made by the parent; hook-based policies here would only reject DAGs early.
        settings.dag_policy = lambda dag: None
        settings.task_policy = lambda task: None
        bag = DagBag(dag_folder=path, bundle_path=root, bundle_name=bundle.name, safe_mode=False)
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


def _parse_file(path: Path, root: Path, bundle: BundleInfo) -> tuple[list[str], dict[str, str]]:
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_parse_in_child, args=(str(path), str(root), bundle, sender))
    child.start()
    sender.close()
    try:
        if receiver.poll(_FILE_TIMEOUT_SECONDS):
            return receiver.recv()
        return [], {str(path.relative_to(root)): f"parsing did not finish within {_FILE_TIMEOUT_SECONDS}s"}
    except EOFError:
        return [], {str(path.relative_to(root)): "the parse process exited without a result"}
    finally:
        child.join(timeout=5)
        if child.is_alive():
            child.kill()
            child.join()


def parse_documents(path: Path, root: Path, bundle: BundleInfo) -> tuple[list[InputDocument], list[str]]:
    """Parse one DAG file (in a forked child, as ``check`` does) into its DAGs' input documents.

    Returns:
        The input documents, in dag_id order, and the file's import errors.
    """
    airflow_info()  # read here, so the forked child inherits it instead of reading after DAG code ran
    raw_documents, import_errors = _parse_file(path, root, bundle)
    relative = str(path.relative_to(root))
    errors = [import_errors[relative]] if relative in import_errors else []
    documents = []
    for raw in raw_documents:
        try:
            documents.append(InputDocument.model_validate_json(raw))
        except ValidationError as exc:
            errors.append(f"the parse produced an invalid input document: {exc}")
    return documents, errors


def _dag_files(root: Path) -> list[Path]:
    from airflow.utils.file import find_dag_file_paths

    if root.is_file():
        return [root]
    return sorted(Path(p) for p in find_dag_file_paths(root, safe_mode=False))


def check_folder(
    folder: Path,
    bundle: BundleInfo,
    evaluate: Callable[[InputDocument], Decision],
    *,
    failure_mode: FailureMode = "closed",
    decision_log: str = "none",
    max_input_bytes: int = MAX_INPUT_BYTES,
    on_file: Callable[[int, int, Path], None] | None = None,
) -> CheckReport:
    """Parse every DAG file under ``folder`` (its own bundle root) and decide on each DAG.

    Args:
        folder: bundle root, or one DAG file.
        bundle: bundle name and team, as resolved by the caller.
        evaluate: the decision function (an :class:`~airflow_policies._opa.OpaEvaluator`'s ``evaluate``).
        failure_mode: the outcome of a DAG no trustworthy decision can be had for.
        decision_log: where each decision's log line goes (``none``, ``stderr`` or a file).
        max_input_bytes: a larger input document is not sent to OPA; the DAG is undecidable.
        on_file: progress callback ``(index, total, path)``.
    """
    root = folder if folder.is_dir() else folder.parent
    files = _dag_files(folder)
    results = []
    for index, path in enumerate(files, start=1):
        if on_file is not None:
            on_file(index, len(files), path)
        documents, errors = parse_documents(path, root, bundle)
        records = [
            judge(d, evaluate, failure_mode=failure_mode, decision_log=decision_log, max_input_bytes=max_input_bytes)
            for d in documents
        ]
        results.append(
            FileResult(file=str(path.relative_to(root)), import_error="\n".join(errors) or None, dags=records)
        )
    return CheckReport(bundle=bundle.name or "", team=bundle.team, files=results)
