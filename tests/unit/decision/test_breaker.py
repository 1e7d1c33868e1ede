"""The circuit breaker: shared through a file, so separate processes (forked parse children) see one state."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from airflow_policies.decision.breaker import CircuitBreaker
from airflow_policies.exceptions import CircuitOpenError


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _breaker(tmp_path, clock, reset=30.0) -> CircuitBreaker:
    return CircuitBreaker(tmp_path / "state" / "breaker.json", reset, clock=clock)


def test_closed_until_a_failure(tmp_path, clock):
    """A fresh breaker lets every call through and writes nothing."""
    breaker = _breaker(tmp_path, clock)
    breaker.before_call()
    assert not breaker.is_open
    assert not (tmp_path / "state").exists()


def test_open_after_a_failure_fails_fast_with_the_cause(tmp_path, clock):
    """After a failure, calls fail fast and the message carries the original error and the next probe."""
    breaker = _breaker(tmp_path, clock)
    breaker.record_failure("OPA at http://x did not answer within 2.0s (read timeout)", slow=True)
    clock.now += 10
    with pytest.raises(CircuitOpenError, match=r"read timeout\) \(circuit breaker open since .* then one probe\)"):
        breaker.before_call()


def test_one_probe_after_the_reset_and_success_closes(tmp_path, clock):
    """After reset_seconds exactly one caller probes; the others keep failing fast until it succeeds."""
    prober, other = _breaker(tmp_path, clock), _breaker(tmp_path, clock)
    prober.record_failure("down", slow=True)
    clock.now += 31
    prober.before_call()
    with pytest.raises(CircuitOpenError):
        other.before_call()
    prober.record_success()
    other.before_call()
    assert not other.is_open


def test_failed_probe_keeps_it_open_since_the_first_failure(tmp_path, clock):
    """A failed probe re-opens the breaker for another period; 'open since' stays the first failure."""
    breaker = _breaker(tmp_path, clock)
    breaker.record_failure("down", slow=True)
    clock.now += 31
    breaker.before_call()
    breaker.record_failure("still down", slow=True)
    clock.now += 5
    with pytest.raises(CircuitOpenError, match="still down") as error:
        breaker.before_call()
    assert breaker.is_open
    assert "open since 00:16:40 UTC" in str(error.value)  # the first failure, 1000 s after the epoch


def test_a_torn_state_file_counts_as_closed(tmp_path, clock):
    """Garbage in the state file never keeps OPA unused."""
    breaker = _breaker(tmp_path, clock)
    breaker.state_file.parent.mkdir()
    breaker.state_file.write_text("{not json")
    breaker.before_call()


def _fail_in_child(path: str) -> None:
    CircuitBreaker(Path(path), 30.0).record_failure("down, seen by a child", slow=True)


def test_state_survives_a_forked_child(tmp_path):
    """A failure recorded by a forked child (as the DAG processor's parse children) opens it for the parent."""
    path = tmp_path / "breaker.json"
    child = multiprocessing.get_context("fork").Process(target=_fail_in_child, args=(str(path),))
    child.start()
    child.join()
    with pytest.raises(CircuitOpenError, match="seen by a child"):
        CircuitBreaker(path, 30.0).before_call()


def test_a_refused_connection_is_probed_again_soon(tmp_path, clock):
    """A refusal cost nothing (an OPA restart looks like this): the next probe comes after about a second,
    not after reset_seconds, so a short restart rejects DAGs only for about as long as it lasts."""
    breaker = _breaker(tmp_path, clock, reset=30.0)
    breaker.record_failure("refused", slow=False)
    clock.now += 0.5
    with pytest.raises(CircuitOpenError):
        breaker.before_call()
    clock.now += 0.6
    breaker.before_call()  # this caller is the probe
    with pytest.raises(CircuitOpenError):
        _breaker(tmp_path, clock, reset=30.0).before_call()  # others wait for it, for another second
