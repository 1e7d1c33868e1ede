"""The decision log: one JSON line per decision, written through structlog.

Airflow configures structlog for its own logs, so this module never touches the global structlog
configuration: it wraps its own logger, whose only processor renders the record as one JSON line.
"""

from __future__ import annotations

import sys
from functools import cache
from typing import TYPE_CHECKING, Any, TextIO

import structlog

if TYPE_CHECKING:
    from airflow_policies.decision.record import DecisionRecord

__all__ = ["close_decision_logs", "decision_logger", "write_record"]

_EVENT = "airflow_policies.decision"
#: The decision-log files this process has open, by path.
_FILES: dict[str, TextIO] = {}


@cache
def decision_logger(destination: str) -> Any:  # noqa: ANN401 - structlog's bound loggers are untyped
    """A structlog logger writing JSON lines to ``destination`` (``stderr``, ``none`` or a file path)."""
    if destination == "none":
        return None
    # A file is opened line-buffered for appending: each record is one write, so processes sharing the
    # file do not interleave; it stays open until close_decision_logs().
    if destination == "stderr":
        stream = sys.stderr
    else:
        stream = _FILES[destination] = open(destination, "a", buffering=1, encoding="utf-8")  # noqa: SIM115
    return structlog.wrap_logger(
        structlog.WriteLogger(stream),
        processors=[structlog.processors.JSONRenderer(sort_keys=False)],
    )


def close_decision_logs() -> None:
    """Close every decision-log file this process opened; the next record opens its destination again."""
    decision_logger.cache_clear()
    while _FILES:
        _FILES.popitem()[1].close()


def write_record(record: DecisionRecord, destination: str) -> None:
    """Write one decision-log line (nothing for ``none``)."""
    logger = decision_logger(destination)
    if logger is not None:
        logger.info(_EVENT, **record.model_dump(mode="json", exclude={"event"}))
