"""The decision cache of the server-side enforcement points."""

from __future__ import annotations

import time

from airflow_policies.decision.cache import TtlCache


def test_values_live_for_the_ttl_then_expire():
    cache: TtlCache[str, int] = TtlCache(lambda: 0.05)
    cache.put("a", 1)
    assert cache.get("a") == 1
    time.sleep(0.06)
    assert cache.get("a") is None
    assert len(cache) == 0


def test_a_zero_ttl_keeps_nothing():
    cache: TtlCache[str, int] = TtlCache(lambda: 0)
    cache.put("a", 1)
    assert cache.get("a") is None


def test_the_ttl_is_read_at_each_insert():
    """A configuration reload changes the TTL of later entries without rebuilding the cache."""
    ttl = [0.0]
    cache: TtlCache[str, int] = TtlCache(lambda: ttl[0])
    cache.put("a", 1)
    ttl[0] = 60
    cache.put("b", 2)
    assert (cache.get("a"), cache.get("b")) == (None, 2)


def test_a_full_cache_drops_its_oldest_entries():
    cache: TtlCache[int, int] = TtlCache(lambda: 60, max_entries=10)
    for key in range(25):
        cache.put(key, key)
    assert len(cache) <= 10
    assert cache.get(24) == 24 and cache.get(0) is None
