"""The one decision path every enforcement point shares: settings, OPA client and breaker, read once.

Everything the decision trusts (settings, the bundle -> team mapping, where the breaker state lives, the
deployment facts) is read by :func:`warm`, which the policy module calls when Airflow loads it: before any
DAG file runs in that process or in the children it forks, so DAG code that rewrites ``os.environ`` cannot
change them.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from functools import cache

from airflow_policies._config import settings
from airflow_policies.decision.breaker import CircuitBreaker
from airflow_policies.decision.models import Decision
from airflow_policies.decision.opa_client import OpaEvaluator
from airflow_policies.decision.record import DecisionRecord
from airflow_policies.decision.teams import configured_bundle_teams
from airflow_policies.decision.verdict import judge
from airflow_policies.document.builder import airflow_info
from airflow_policies.document.models import EnforcementPoint, InputDocument
from airflow_policies.exceptions import (
    CircuitOpenError,
    ConfigurationError,
    DecisionError,
    OpaTimeoutError,
    OpaUnreachableError,
)

__all__ = ["current_revision", "decide", "warm"]

log = logging.getLogger(__name__)

# Where DAG code has run in the same process: the only points the in-process Wasm engine may decide.
_PARSE_TIME: frozenset[EnforcementPoint] = frozenset({"dag_processor", "worker", "cli"})


@cache
def _evaluator() -> OpaEvaluator:
    return OpaEvaluator(settings())


@cache
def _breaker(shared: bool) -> CircuitBreaker:
    current = settings()
    if not shared:
        # Where no DAG code runs: state of this process's own. The shared file is written where DAG code runs, so
        # DAG code could open it, and fail every team's decisions here closed.
        return CircuitBreaker(None, current.breaker_reset_seconds)
    # One state file per OPA endpoint, shared by the processes of this host where DAG code runs (every forked
    # parse child), so that an OPA outage costs one timeout per cool-down, not one per file.
    endpoint = hashlib.sha256(_evaluator().url.encode()).hexdigest()[:16]
    return CircuitBreaker(current.state_dir / f"breaker-{endpoint}.json", current.breaker_reset_seconds)


def _breaker_at(point: EnforcementPoint) -> CircuitBreaker:
    return _breaker(shared=point in _PARSE_TIME)


@cache
def _wasm_evaluate() -> Callable[[InputDocument], Decision]:
    from airflow_policies.decision.wasm import WasmEvaluator

    bundle = settings().wasm_bundle
    if bundle is None:
        raise ConfigurationError(
            "engine wasm needs [airflow_policies] wasm_bundle (AIRFLOW__AIRFLOW_POLICIES__WASM_BUNDLE): "
            "a bundle built with airflow-policies bundle build --target wasm"
        )
    return WasmEvaluator(bundle).evaluate


def warm() -> None:
    """Read everything the decision trusts, now. An invalid configuration raises, naming the field."""
    configured_bundle_teams()
    _breaker(shared=True)
    airflow_info()
    if settings().engine == "wasm":
        _wasm_evaluate()  # compiled once here, before the DAG processor forks its parse children


#: A probe that could not reach OPA is tried again after this long (through the breaker: no request while it is
#: open).
_PROBE_RETRY_SECONDS = 1.0
#: The last probe: (its answer, or None if it failed; when it is due again, on the monotonic clock).
_probed: list[tuple[str | None, float]] = []
#: The last revision read: (the revision, when it was read, on the monotonic clock).
_last_read: list[tuple[str, float]] = []


def current_revision() -> str | None:
    """The revision of the policy and data the OPA server decides with, probed at most once per
    ``decision_cache_seconds`` (two small requests, not one per DAG); ``None`` when it could not be read, or
    when ``decision_cache_seconds`` is 0 (nothing is reused then). OPA must answer ``POST /v1/query`` (the digest
    of the policy's data) and ``POST /v1/data/airflow_policies/meta`` to whoever asks for decisions.

    A cache keyed by it reuses a verdict until the policy or its data (the registry, the rollout) change, and
    notices the change within ``decision_cache_seconds``. While OPA cannot be asked (a restart, the breaker open),
    the last revision read stays the answer for up to two intervals after it was read, so verdicts on unchanged
    DAGs ride over a short outage as the manager's time-limited cache did before; a change made meanwhile is
    noticed at most two intervals late.
    """
    interval = settings().decision_cache_seconds
    if interval <= 0:
        return None
    now = time.monotonic()
    if _probed and _probed[0][1] > now:
        return _probed[0][0]
    breaker = _breaker_at("dag_processor_manager")  # the revision keys the manager's verdicts
    answer: str | None = None
    due = now + min(interval, _PROBE_RETRY_SECONDS)
    try:
        # Through the breaker, as a decision: while OPA is known to be down, the probe waits for nothing.
        breaker.before_call()
        answer = _evaluator().revision()
        due = now + interval
        # OPA answered: if this was the breaker's probe (it had opened), it closes, as after a decision.
        breaker.record_success()
    except CircuitOpenError:
        pass
    except OpaUnreachableError as exc:
        breaker.record_failure(str(exc), slow=isinstance(exc, OpaTimeoutError))
        log.warning("airflow-policies could not read the policy revision from OPA: %s", exc)
    except DecisionError as exc:
        # OPA answered, but not a revision (an HTTP error: e.g. its authorization refuses POST /v1/query): it is up,
        # and asking again at once would get the same answer. Nothing is reused until the next probe.
        breaker.record_success()
        due = now + interval
        log.warning(
            "airflow-policies could not read the policy revision from OPA (%s): the DAG-processor manager decides "
            "every DAG it receives until it can (the next probe is in %.0f s)",
            exc,
            interval,
        )
    if answer is not None:
        _last_read[:] = [(answer, now)]
    elif _last_read and now - _last_read[0][1] <= 2 * interval:
        answer = _last_read[0][0]
    _probed[:] = [(answer, due)]
    return answer


def decide(document: InputDocument) -> DecisionRecord:
    """Ask OPA about one document, with this deployment's failure mode, breaker and decision log."""
    current = settings()
    in_process = current.engine == "wasm" and document.enforcement_point in _PARSE_TIME
    return judge(
        document,
        _wasm_evaluate() if in_process else _evaluator().evaluate,
        failure_mode=current.failure_mode_at(document.enforcement_point),
        decision_log=current.decision_log,
        # The breaker guards the network path: the in-process engine has no server to wait for.
        breaker=None if in_process else _breaker_at(document.enforcement_point),
        max_input_bytes=current.max_input_bytes,
        answers=None if in_process else _evaluator().answers,
    )
