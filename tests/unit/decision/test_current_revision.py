"""The policy revision the manager's verdict cache is keyed by: probed from OPA at most once per interval."""

from __future__ import annotations

import pytest

from airflow_policies._config import Settings
from airflow_policies.decision import decide
from airflow_policies.decision.breaker import CircuitBreaker
from airflow_policies.exceptions import MalformedDecisionError, OpaTimeoutError, OpaUnreachableError


class _Evaluator:
    def __init__(self) -> None:
        self.probes = 0
        self.answer: str | Exception = "bundle@1;data:x"

    def revision(self) -> str:
        self.probes += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.fixture
def breaker(tmp_path, monkeypatch) -> CircuitBreaker:
    real = CircuitBreaker(tmp_path / "breaker.json", reset_seconds=30)
    monkeypatch.setattr(decide, "_breaker", lambda shared: real)
    return real


@pytest.fixture
def opa(monkeypatch, breaker) -> _Evaluator:
    fake = _Evaluator()
    monkeypatch.setattr(decide, "_evaluator", lambda: fake)
    monkeypatch.setattr(decide, "_probed", [])
    monkeypatch.setattr(decide, "_last_read", [])
    return fake


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(decide.time, "monotonic", lambda: now[0])
    return now


def test_probed_once_per_interval(opa, clock):
    """Every DAG of a pass reads the same probe; the next probe is decision_cache_seconds (60 s) later."""
    assert [decide.current_revision() for _ in range(100)] == ["bundle@1;data:x"] * 100
    assert opa.probes == 1
    opa.answer = "bundle@2;data:x"
    clock[0] += 59
    assert decide.current_revision() == "bundle@1;data:x"
    clock[0] += 2
    assert decide.current_revision() == "bundle@2;data:x"
    assert opa.probes == 2


def test_an_answer_that_is_not_a_revision_is_unknown_until_the_next_probe(opa, clock, breaker):
    """OPA answers, but not a revision (e.g. its authorization refuses the query): nothing is reused, and it is asked
    again after the interval, not at once (it would answer the same)."""
    opa.answer = MalformedDecisionError("not a revision")
    assert decide.current_revision() is None
    clock[0] += 59
    assert decide.current_revision() is None
    assert opa.probes == 1 and not breaker.is_open
    opa.answer = "bundle@1;data:x"
    clock[0] += 2
    assert decide.current_revision() == "bundle@1;data:x"


def test_a_refused_connection_is_probed_again_once_the_breaker_allows(opa, clock, breaker, monkeypatch):
    """OPA refuses connections: the probe opens the breaker (quick cool-down) and is not sent while it is open;
    the breaker's next probe is the revision probe, whose success closes it."""
    now = [0.0]
    monkeypatch.setattr(breaker, "_clock", lambda: now[0])
    opa.answer = OpaUnreachableError("refused")
    assert decide.current_revision() is None and breaker.is_open
    clock[0] += 1.5
    assert decide.current_revision() is None
    assert opa.probes == 1
    opa.answer = "bundle@1;data:x"
    now[0] += 60
    clock[0] += 1.5
    assert decide.current_revision() == "bundle@1;data:x"
    assert opa.probes == 2 and not breaker.is_open


def test_an_unreachable_opa_opens_the_breaker_and_is_not_probed_while_open(opa, clock, breaker):
    """The probe goes through the circuit breaker: a hanging OPA costs the manager one timeout, not one a second."""
    opa.answer = OpaTimeoutError("hangs")
    assert decide.current_revision() is None
    assert breaker.is_open
    for _ in range(5):
        clock[0] += 1.5
        assert decide.current_revision() is None
    assert opa.probes == 1


def test_no_reuse_asks_nothing(opa, monkeypatch):
    """decision_cache_seconds 0: no verdict is reused, so no revision is needed."""
    monkeypatch.setattr(decide, "settings", lambda: Settings(decision_cache_seconds=0))
    assert decide.current_revision() is None
    assert opa.probes == 0


def test_a_successful_probe_closes_the_breaker(opa, clock, breaker, monkeypatch):
    """The probe may be the breaker's one probe after OPA was down: its success closes the breaker for everyone."""
    monkeypatch.setattr(breaker, "_clock", lambda: 0.0)
    breaker.record_failure("refused", slow=False)
    monkeypatch.setattr(breaker, "_clock", lambda: 10_000.0)  # the breaker's probe is due
    assert decide.current_revision() == "bundle@1;data:x"
    assert not breaker.is_open


def test_a_short_outage_keeps_the_last_revision_for_two_intervals(opa, clock, breaker):
    """Read at t=0; OPA not answering from t=61: the last revision stays the answer until t=120 (verdicts on
    unchanged DAGs ride over an OPA restart), then nothing is reused."""
    assert decide.current_revision() == "bundle@1;data:x"
    opa.answer = MalformedDecisionError("OPA restarting")
    clock[0] += 61
    assert decide.current_revision() == "bundle@1;data:x"
    clock[0] += 58
    assert decide.current_revision() == "bundle@1;data:x"
    clock[0] += 2
    assert decide.current_revision() is None
