"""Where a parse-time policy call comes from: the DagBag that is parsing, and Airflow's entry point on the stack.

Both are read from the call stack, never from anything a DAG author writes: DAG code can rewrite
``os.environ`` (where Airflow's parsing context lives), not the frames that called it.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

from airflow_policies.document.models import EnforcementPoint

if TYPE_CHECKING:
    from airflow.dag_processing.dagbag import DagBag

__all__ = ["calling_dagbag", "enforcement_point", "runs_callbacks"]

# Airflow's parse entry points, by the code on the stack.
_PARSE_ENTRY_POINTS: dict[tuple[str, str], EnforcementPoint] = {
    ("airflow/dag_processing/processor.py", "_parse_file"): "dag_processor",
    ("airflow/sdk/execution_time/task_runner.py", "parse"): "worker",
}


def calling_dagbag() -> DagBag | None:
    """Find the DagBag whose ``bag_dag`` is calling the policy.

    Airflow passes only the DAG to ``dag_policy``; the bundle lives on the bag, which is always a caller
    (DAG processor, worker re-parse, CLI), so walking up the stack finds it in every context.
    """
    from airflow.dag_processing.dagbag import DagBag

    frame = inspect.currentframe()
    try:
        while frame is not None:
            candidate = frame.f_locals.get("self")
            if isinstance(candidate, DagBag):
                return candidate
            frame = frame.f_back
    finally:
        del frame
    return None


def enforcement_point() -> EnforcementPoint:
    """Where this parse happens: a DAG-processor child, a worker starting a task, or anything else (CLI)."""
    frame = inspect.currentframe()
    try:
        while frame is not None:
            code = frame.f_code
            for (path_suffix, function), point in _PARSE_ENTRY_POINTS.items():
                if code.co_name == function and code.co_filename.endswith(path_suffix):
                    return point
            frame = frame.f_back
    finally:
        del frame
    return "cli"


def runs_callbacks() -> bool:
    """Whether the DAG-processor parse on the stack runs DAG callbacks (Airflow's callback requests), rather than
    producing a parse result for the manager to write."""
    frame = inspect.currentframe()
    try:
        while frame is not None:
            code = frame.f_code
            if code.co_name == "_parse_file" and code.co_filename.endswith("airflow/dag_processing/processor.py"):
                return bool(getattr(frame.f_locals.get("msg"), "callback_requests", None))
            frame = frame.f_back
    finally:
        del frame
    return False
