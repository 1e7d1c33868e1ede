"""A circuit breaker over OPA whose state lives in a small file, so it survives the DAG processor's forks.

The DAG processor forks a fresh child for every file, so state kept in memory dies with each child. The
breaker keeps one JSON file per OPA endpoint instead: after a failure to reach OPA, every process on the
host fails fast until a cool-down has passed; then exactly one process (the one that claims the probe
under a file lock) asks OPA again, and its success closes the breaker for everyone.

That file is written by processes where DAG code runs, so DAG code can write it too. A process where no DAG code
runs (the DAG-processor manager, the scheduler, the API server) keeps its breaker in memory instead
(``state_file=None``): nothing another team's code writes can open it.

The cool-down depends on what the failure cost. A timeout cost the whole read timeout, so the breaker
waits ``reset_seconds`` before paying it again. A refused connection cost nothing, and is what an OPA
restart looks like, so the breaker probes again after at most :data:`QUICK_RESET_SECONDS`: a 2-second OPA
restart then rejects DAGs for about 2 seconds, not for ``reset_seconds``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from airflow_policies.exceptions import CircuitOpenError

__all__ = ["QUICK_RESET_SECONDS", "CircuitBreaker"]

#: Cool-down after a failure that cost no time (a refused connection).
QUICK_RESET_SECONDS = 1.0


class CircuitBreaker:
    """Fail fast while OPA is known to be unreachable.

    Args:
        state_file: where the state is shared between processes (created on the first failure); ``None``: kept in
            this process's memory, shared with no other.
        reset_seconds: how long the breaker stays open after a slow failure (a timeout) before one process
            probes OPA again.
        clock: wall-clock seconds; shared between processes, so not ``time.monotonic``.
    """

    def __init__(self, state_file: Path | None, reset_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self.state_file = state_file
        self._lock_file = state_file.with_name(state_file.name + ".lock") if state_file is not None else None
        self._in_memory: dict[str, object] | None = None
        self._memory_lock = threading.Lock()
        self._reset_seconds = reset_seconds
        self._clock = clock

    def _read(self) -> dict[str, object] | None:
        if self.state_file is None:
            return self._in_memory
        try:
            state = json.loads(self.state_file.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            # A torn or foreign file must not keep OPA unused forever: treat it as closed and let the next
            # failure rewrite it.
            return None
        return state if isinstance(state, dict) else None

    def _write(self, state: dict[str, object] | None) -> None:
        if self.state_file is None:
            self._in_memory = state
            return
        if state is None:
            self.state_file.unlink(missing_ok=True)
            return
        self.state_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.state_file.parent, prefix=".breaker-")
        with os.fdopen(fd, "w") as handle:
            json.dump(state, handle)
        os.replace(temporary, self.state_file)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self._lock_file is None:
            with self._memory_lock:
                yield
            return
        self._lock_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._lock_file.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @property
    def is_open(self) -> bool:
        """Whether the last attempt to reach OPA failed (a probe may be due)."""
        return self._read() is not None

    def before_call(self) -> None:
        """Allow the call, or raise while the breaker is open and this process is not the probe.

        Raises:
            CircuitOpenError: OPA failed recently; the message says when, why and when the next probe is.
        """
        state = self._read()
        if state is None:
            return
        with self._locked():
            state = self._read()
            if state is None:
                return
            now = self._clock()
            probe_at = float(state["probe_at"])  # type: ignore[arg-type]
            if now >= probe_at:
                # Claim the probe: everyone else keeps failing fast until it reports back.
                cooldown = float(state.get("cooldown", self._reset_seconds))  # type: ignore[arg-type]
                self._write(state | {"probe_at": now + cooldown})
                return
        raise CircuitOpenError(
            f"{state['last_error']} (circuit breaker open since "
            f"{time.strftime('%H:%M:%S', time.gmtime(float(state['opened_at'])))} UTC; no request is sent "  # type: ignore[arg-type]
            f"until {time.strftime('%H:%M:%S', time.gmtime(probe_at))} UTC, then one probe)"
        )

    def record_failure(self, error: str, *, slow: bool) -> None:
        """Open the breaker (or keep it open) after OPA could not be reached.

        Args:
            error: what failed, repeated to every caller that fails fast.
            slow: the failure cost time (a timeout), so probe again only after ``reset_seconds``.
        """
        cooldown = self._reset_seconds if slow else min(self._reset_seconds, QUICK_RESET_SECONDS)
        with self._locked():
            previous = self._read()
            now = self._clock()
            opened_at = previous["opened_at"] if previous else now
            self._write({"opened_at": opened_at, "probe_at": now + cooldown, "cooldown": cooldown, "last_error": error})

    def record_success(self) -> None:
        """Close the breaker after OPA answered."""
        if self._read() is not None:
            with self._locked():
                self._write(None)
