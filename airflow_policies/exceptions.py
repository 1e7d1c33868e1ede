"""Errors raised by airflow-policies. Each message says what failed and how to fix it."""

from __future__ import annotations

__all__ = [
    "CircuitOpenError",
    "ConfigurationError",
    "DecisionError",
    "InputTooLargeError",
    "MalformedDecisionError",
    "OpaTimeoutError",
    "OpaUnavailableError",
    "OpaUnreachableError",
    "PolicyError",
]


class PolicyError(Exception):
    """Base class of every airflow-policies error."""


class ConfigurationError(PolicyError):
    """The airflow-policies configuration is invalid."""


class DecisionError(PolicyError):
    """No trustworthy decision could be obtained; the DAG is rejected (fail closed)."""


class OpaUnavailableError(DecisionError):
    """OPA could not be reached, timed out or answered with an HTTP error."""


class MalformedDecisionError(DecisionError):
    """OPA answered, but not with a decision of the documented shape."""


class OpaUnreachableError(OpaUnavailableError):
    """OPA did not accept the connection or did not answer in time: what opens the circuit breaker."""


class OpaTimeoutError(OpaUnreachableError):
    """OPA did not accept the connection or answer within the timeout: the failure cost that time."""


class CircuitOpenError(OpaUnavailableError):
    """OPA failed recently, so no request was sent (the circuit breaker is open)."""


class InputTooLargeError(DecisionError):
    """The DAG's input document is larger than the configured bound; it is not sent to OPA."""
