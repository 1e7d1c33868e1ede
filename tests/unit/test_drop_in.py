"""The drop-in registers dag_policy itself only when the entry-point plugin is not loaded."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from airflow import settings

from airflow_policies._paths import drop_in
from airflow_policies.enforcement import cluster_policies


def _load_drop_in() -> ModuleType:
    spec = importlib.util.spec_from_file_location("airflow_local_settings_under_test", drop_in())
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_drop_in_exports_the_hook_without_the_entry_point():
    """Without the entry point (unregistered here by the unit-test fixture) Airflow gets every hook from the drop-in."""
    module = _load_drop_in()
    assert module.__all__ == ["dag_policy", "pod_mutation_hook", "task_instance_mutation_hook"]
    assert module.dag_policy is cluster_policies.dag_policy
    assert module.pod_mutation_hook is cluster_policies.pod_mutation_hook
    assert module.task_instance_mutation_hook is cluster_policies.task_instance_mutation_hook


def test_drop_in_exports_nothing_when_the_entry_point_is_loaded():
    """With the entry point loaded, the drop-in adds no second hook (one OPA call per DAG)."""
    manager = settings.get_policy_plugin_manager()
    manager.register(cluster_policies, name="airflow_policies")
    try:
        assert _load_drop_in().__all__ == []
    finally:
        manager.unregister(name="airflow_policies")
