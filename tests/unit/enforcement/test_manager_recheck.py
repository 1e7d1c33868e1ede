"""The manager-side re-check wraps one Airflow internal: wrapped on the pinned Airflow, loud when it changes."""

from __future__ import annotations

import importlib.metadata
import logging
import types

from airflow.dag_processing.manager import DagFileProcessorManager

from airflow_policies.enforcement import import_hooks, manager_recheck


def test_the_pinned_airflow_is_wrapped():
    """Loading the policy wrapped persist_parsing_result of this Airflow, which is a version the wrap is tested on."""
    assert DagFileProcessorManager.persist_parsing_result.__wrapped__ is not None
    assert importlib.metadata.version("apache-airflow-core") in manager_recheck.TESTED_AIRFLOW_VERSIONS


def test_a_changed_signature_is_reported_not_wrapped(caplog):
    """A manager whose persist method changed shape gets an error naming it, and stays untouched."""

    class ChangedManager:
        def persist_parsing_result(self, result, session):
            return result

    changed = types.ModuleType("airflow.dag_processing.manager")
    changed.DagFileProcessorManager = ChangedManager
    with caplog.at_level(logging.ERROR, logger="airflow_policies.enforcement.manager_recheck"):
        import_hooks._apply(changed, manager_recheck._wrap_persist_parsing_result, manager_recheck._log_skipped)
    assert "DagFileProcessorManager.persist_parsing_result" in caplog.text
    assert "is gone or changed" in caplog.text and "checked at parse time only" in caplog.text
    assert not hasattr(ChangedManager.persist_parsing_result, "__wrapped__")


def test_a_missing_manager_class_is_reported(caplog):
    """A module without the manager class is reported the same way."""
    with caplog.at_level(logging.ERROR, logger="airflow_policies.enforcement.manager_recheck"):
        import_hooks._apply(
            types.ModuleType("airflow.dag_processing.manager"),
            manager_recheck._wrap_persist_parsing_result,
            manager_recheck._log_skipped,
        )
    assert "is gone or changed" in caplog.text


def test_a_lazy_dag_without_its_cached_deserialization_is_reported(caplog, monkeypatch):
    """The re-check reads the DAG through LazyDeserializedDAG._real_dag (deserialized once, shared with Airflow);
    an Airflow without it is reported, and the manager stays untouched."""
    from airflow.serialization.serialized_objects import LazyDeserializedDAG

    monkeypatch.delattr(LazyDeserializedDAG, "_real_dag")

    class Manager:
        def persist_parsing_result(
            self, bundle_name, bundle_version, version_data, parsing_result, run_duration, relative_fileloc, session
        ):
            return parsing_result

    manager = types.ModuleType("airflow.dag_processing.manager")
    manager.DagFileProcessorManager = Manager
    with caplog.at_level(logging.ERROR, logger="airflow_policies.enforcement.manager_recheck"):
        import_hooks._apply(manager, manager_recheck._wrap_persist_parsing_result, manager_recheck._log_skipped)
    assert "LazyDeserializedDAG._real_dag" in caplog.text and "checked at parse time only" in caplog.text
    assert not hasattr(Manager.persist_parsing_result, "__wrapped__")
