"""The decision path's half of the property tests: whatever the generated DAG, what the builder could not
represent (a reference chosen at run time, a lineage object that names no asset) makes the real OPA reject
the DAG, never admit it."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from airflow_policies._config import load_settings
from airflow_policies.decision.opa_client import OpaEvaluator
from airflow_policies.document.builder import build_input
from tests.unit.document.test_properties import BUNDLE, SCHEDULES, TASK_SPECS, _build

UNVERIFIABLE_RULES = {
    "connections.unverifiable_conn_id",
    "variables.unverifiable_variable",
    "cross_dag.unverifiable_target",
    "assets.unknown_asset_reference",
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(schedule=SCHEDULES, specs=TASK_SPECS)
def test_what_cannot_be_represented_is_rejected(opa_url, schedule, specs):
    """An unverifiable reference or an unknown lineage object always ends in a rejection that names it."""
    document = build_input(_build(schedule, specs), bundle=BUNDLE, enforcement_point="check")
    decision = OpaEvaluator(load_settings(environ={}, opa_url=opa_url)).evaluate(document)
    unrepresentable = [
        ref for t in document.tasks for ref in (*t.connections, *t.variables, *t.dag_refs) if not ref.verifiable
    ] + [a for t in document.tasks for a in (*t.inlets, *t.outlets) if a.kind == "unknown"]
    flagged = {v.rule for v in decision.violations} & UNVERIFIABLE_RULES
    assert bool(flagged) == bool(unrepresentable), (flagged, unrepresentable)
    if unrepresentable:
        assert decision.rejected
