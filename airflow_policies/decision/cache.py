"""A bounded cache whose entries expire: decisions reused on the server-side hot paths."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["TtlCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """``key -> value`` for ``ttl_seconds()`` (read at each insert, so a configuration reload applies); when
    full, the oldest entries are dropped first. A TTL of 0 keeps nothing.

    Not locked: a race costs at most one extra decision, never a wrong one, as every value is complete.
    """

    def __init__(self, ttl_seconds: Callable[[], float], max_entries: int = 100_000) -> None:
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        """The live value for ``key``, or ``None``."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` for ``key`` until the TTL passes."""
        ttl = self._ttl()
        if ttl <= 0:
            return
        if len(self._entries) >= self._max_entries:
            # Dicts keep insertion order: drop the oldest tenth rather than one entry per insert.
            for stale in list(self._entries)[: max(1, self._max_entries // 10)]:
                self._entries.pop(stale, None)
        self._entries[key] = (time.monotonic() + ttl, value)

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
