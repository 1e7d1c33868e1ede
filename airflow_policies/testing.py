"""Helpers for tests of deployments that use airflow-policies."""

from __future__ import annotations

__all__ = ["reload_configuration"]


def reload_configuration() -> None:
    """Read the configuration again, as the policy did when Airflow loaded it.

    The policy reads its settings, the bundle-to-team mapping and Airflow's defaults once, before any DAG
    file runs. A test that changes the environment afterwards calls this (before parsing) to apply it.
    """
    from airflow_policies import _config, _decide, _input, _manager_recheck, _read_guard, _scheduler_recheck

    _config.settings.cache_clear()
    _input.airflow_info.cache_clear()
    _decide._evaluator.cache_clear()
    _decide._breaker.cache_clear()
    _decide._bundle_teams.cache_clear()
    _decide.warm()
    for cache in (
        _manager_recheck.VERDICTS,
        _scheduler_recheck.BUNDLES,
        _scheduler_recheck.VERDICTS,
        _read_guard.VERDICTS,
    ):
        cache.clear()
