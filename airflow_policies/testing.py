"""Helpers for tests of deployments that use airflow-policies."""

from __future__ import annotations

__all__ = ["reload_configuration"]


def reload_configuration() -> None:
    """Read the configuration again, as the policy did when Airflow loaded it.

    The policy reads its settings, the bundle-to-team mapping and Airflow's defaults once, before any DAG
    file runs. A test that changes the environment afterwards calls this (before parsing) to apply it.
    """
    from airflow_policies import _config, _input, policies

    _config.settings.cache_clear()
    _input.airflow_info.cache_clear()
    policies._evaluator.cache_clear()
    policies._breaker.cache_clear()
    policies._bundle_teams.cache_clear()
    policies._bundle_teams()
    policies._breaker()
    _input.airflow_info()
