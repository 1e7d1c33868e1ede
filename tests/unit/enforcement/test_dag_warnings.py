"""The one module that wraps Airflow internals: wrapped on the pinned Airflow, loud when they change."""

from __future__ import annotations

import logging
import types

from airflow.dag_processing import processor
from airflow.dag_processing.dagbag import DagBag

from airflow_policies.enforcement import dag_warnings, import_hooks


def test_the_pinned_airflow_is_wrapped():
    """Loading the policy wrapped both parse-result builders of this Airflow version."""
    assert processor._parse_file.__wrapped__ is not None
    assert DagBag.dag_warnings.fget.__name__ == "dag_warnings"
    assert dag_warnings.warning_type_usable()


def test_a_changed_internal_is_reported_not_wrapped(caplog):
    """An Airflow whose internal changed shape gets an error naming it, and nothing is patched."""
    changed = types.ModuleType("airflow.dag_processing.processor")
    changed._parse_file = lambda request: None  # another signature
    with caplog.at_level(logging.ERROR, logger="airflow_policies.enforcement.dag_warnings"):
        import_hooks._apply(changed, dag_warnings._wrap_parse_file, dag_warnings._log_skipped)
    assert "_parse_file(msg, log) is gone or changed" in caplog.text
    assert "decision log" in caplog.text
    assert not hasattr(changed._parse_file, "__wrapped__")
