"""Helpers for tests of deployments that use airflow-policies."""

from __future__ import annotations

__all__ = ["reload_configuration"]


def reload_configuration() -> None:
    """Read the configuration again, as the policy did when Airflow loaded it.

    The policy reads its settings, the bundle-to-team mapping and Airflow's defaults once, before any DAG
    file runs. A test that changes the environment afterwards calls this (before parsing) to apply it.
    """
    from airflow_policies import _config
    from airflow_policies.decision import decide, teams
    from airflow_policies.decision.log import close_decision_logs
    from airflow_policies.document import builder
    from airflow_policies.enforcement import execution_api, manager_recheck, scheduler_recheck

    _config.settings.cache_clear()
    builder.airflow_info.cache_clear()
    decide._evaluator.cache_clear()
    decide._breaker.cache_clear()
    decide._wasm_evaluate.cache_clear()
    teams.configured_bundle_teams.cache_clear()
    close_decision_logs()  # the decision_log option may name another file now
    decide.warm()
    for cache in (
        manager_recheck.VERDICTS,
        scheduler_recheck.BUNDLES,
        scheduler_recheck.VERDICTS,
        execution_api.VERDICTS,
    ):
        cache.clear()
