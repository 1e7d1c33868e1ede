"""The demo's --serve loop stops on SIGTERM as it does on Ctrl-C, so what it started is cleaned up."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from airflow_policies.commands.demo import _sigterm_as_interrupt


@pytest.fixture
def recorded_sigterms() -> Iterator[list[int]]:
    """A handler that only records SIGTERM, so a test that fails to intercept it does not kill pytest."""
    received: list[int] = []
    original = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    yield received
    signal.signal(signal.SIGTERM, original)


def test_sigterm_interrupts_the_serve_loop_and_the_previous_handler_comes_back(recorded_sigterms: list[int]) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with _sigterm_as_interrupt(), pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
    assert recorded_sigterms == []
    assert signal.getsignal(signal.SIGTERM) is before
    os.kill(os.getpid(), signal.SIGTERM)
    assert recorded_sigterms == [signal.SIGTERM]
