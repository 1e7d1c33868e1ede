"""The circuit breaker: shared through a file where DAG code runs, so separate processes (forked parse children)
see one state; in memory where no DAG code runs, so no DAG code can open it."""

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


def test_in_memory_the_same_cycle_and_no_file(tmp_path, clock):
    """Without a state file (a process where no DAG code runs): open, fail fast, one probe, closed, all in memory."""
    breaker = CircuitBreaker(None, 30.0, clock=clock)
    breaker.record_failure("down", slow=True)
    with pytest.raises(CircuitOpenError, match="down"):
        breaker.before_call()
    clock.now += 31
    breaker.before_call()  # the probe
    with pytest.raises(CircuitOpenError):
        breaker.before_call()
    breaker.record_success()
    breaker.before_call()
    assert not breaker.is_open and list(tmp_path.iterdir()) == []


class TestWhoseStateAPointReads:
    """DAG code can write the shared file (it runs in the processes that share it): a point where no DAG code runs
    must not read it, or one team's DAG file could fail every team's decisions closed."""

    @pytest.fixture
    def shared_file_forged_open(self, tmp_path, monkeypatch):
        from airflow_policies.decision import decide
        from airflow_policies.local.testing import reload_configuration

        monkeypatch.setenv("AIRFLOW__AIRFLOW_POLICIES__STATE_DIR", str(tmp_path))
        reload_configuration()
        decide._breaker.cache_clear()
        # What DAG code in a parse child can do: write the host's shared state as "open" for the next hour.
        forged = decide._breaker(shared=True)
        forged.record_failure("forged by a DAG file", slow=True)
        yield decide
        decide._breaker.cache_clear()
        monkeypatch.delenv("AIRFLOW__AIRFLOW_POLICIES__STATE_DIR")
        reload_configuration()

    TRUSTED = (
        "dag_processor_manager",
        "scheduler",
        "kubernetes_executor",
        "execution_api",
        "triggerer",
        "dag_processor_channel",
        "check",
        "audit",
    )
    PARSE_TIME = ("dag_processor", "worker", "cli")

    def test_every_point_is_one_or_the_other(self):
        from typing import get_args

        from airflow_policies.document.models import EnforcementPoint

        assert sorted(self.TRUSTED + self.PARSE_TIME) == sorted(get_args(EnforcementPoint))

    @pytest.mark.parametrize("point", TRUSTED)
    def test_a_point_where_no_dag_code_runs_ignores_the_shared_file(self, shared_file_forged_open, point):
        shared_file_forged_open._breaker_at(point).before_call()

    @pytest.mark.parametrize("point", PARSE_TIME)
    def test_a_parse_time_point_shares_it(self, shared_file_forged_open, point):
        with pytest.raises(CircuitOpenError, match="forged by a DAG file"):
            shared_file_forged_open._breaker_at(point).before_call()
