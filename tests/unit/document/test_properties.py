"""Property-based tests: hypothesis builds DAG shapes no one wrote by hand (nested groups, mapped tasks
with literal and XComArg expands, setup/teardown, asset expressions with aliases, refs and watchers,
templated and non-string conn ids, hostile attribute values). The builder must never crash, must always
yield a schema-valid document, and must mark what it cannot represent as unverifiable, which the rules
reject (the decision path's half of the property runs against the real OPA, in the integration suite)."""

from __future__ import annotations

import json

import jsonschema
import pendulum
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.triggers.file import FileDeleteTrigger
from airflow.sdk import DAG, Asset, AssetAlias, AssetWatcher, TaskGroup, setup, task, teardown
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_policies.document.builder import build_input
from airflow_policies.document.models import BundleInfo, InputDocument
from tests.conftest import REPO

START = pendulum.datetime(2026, 1, 1, tz="UTC")
BUNDLE = BundleInfo(name="team_a_dags", team="team_a")
SCHEMA = json.loads((REPO / "schemas" / "input-document.schema.json").read_text())
IDENTIFIER = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)


class Hostile:
    """An object whose repr raises, and which contains itself."""

    def __init__(self) -> None:
        self.me = self

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def _cyclic() -> dict:
    loop: dict = {"name": "loop"}
    loop["self"] = loop
    return loop


ODD_VALUES = st.one_of(
    st.none(),
    st.binary(max_size=40),
    st.text(max_size=60),
    st.text(min_size=5000, max_size=6000),
    st.integers(),
    st.floats(allow_nan=True),
    st.builds(Hostile),
    st.builds(_cyclic),
    st.lists(st.one_of(st.text(max_size=10), st.binary(max_size=5)), max_size=5),
)
CONN_IDS = st.one_of(
    IDENTIFIER,
    st.just("{{ params.conn }}"),
    st.builds(lambda name: "{{ conn." + name + ".host }}", IDENTIFIER),
    st.integers(),
    st.binary(max_size=8),
)
TEMPLATES = st.lists(
    st.one_of(
        st.text(max_size=30),
        st.builds(lambda name: "{{ conn." + name + ".host }}", IDENTIFIER),
        st.builds(lambda name: "{{ var.value." + name + " }}", IDENTIFIER),
        st.just("{{ var.value.get(params.key) }}"),
        st.just("{{ conn[params.name].login }}"),
    ),
    max_size=6,
).map(" ".join)


def _asset(kind: str, name: str, watched: bool) -> object:
    if kind == "alias":
        return AssetAlias(f"team_a.{name}")
    if kind == "name_ref":
        return Asset.ref(name=f"team_b.{name}")
    if kind == "uri_ref":
        return Asset.ref(uri=f"s3://team-b/{name}")
    watchers = [AssetWatcher(name=f"w_{name}", trigger=FileDeleteTrigger(filepath="/x"))] if watched else []
    return Asset(f"s3://team-{kind[-1]}/{name}", watchers=watchers)


ASSETS = st.builds(
    _asset, st.sampled_from(["asset_a", "asset_b", "alias", "name_ref", "uri_ref"]), IDENTIFIER, st.booleans()
)


def _combine(parts: list[object], use_any: bool) -> object:
    expression = parts[0]
    for part in parts[1:]:
        expression = (expression | part) if use_any else (expression & part)
    return expression


SCHEDULES = st.one_of(
    st.none(),
    st.lists(st.builds(_asset, st.just("asset_a"), IDENTIFIER, st.booleans()), min_size=1, max_size=3, unique_by=repr),
    st.builds(_combine, st.lists(ASSETS, min_size=2, max_size=4), st.booleans()),
)

TASK_SPECS = st.lists(
    st.tuples(
        st.sampled_from(["empty", "bash", "sql", "mapped_literal", "mapped_xcom", "setup_teardown"]),
        st.integers(min_value=0, max_value=3),  # task group depth
        CONN_IDS,
        TEMPLATES,
        ODD_VALUES,
        st.lists(ASSETS, max_size=2),
    ),
    min_size=1,
    max_size=8,
)


def _build(schedule: object, specs: list[tuple]) -> DAG:
    dag = DAG("team_a__fuzzed", schedule=schedule, start_date=START)
    with dag:
        for n, (kind, depth, conn_id, template, odd, outlets) in enumerate(specs):
            groups = [TaskGroup(f"g{n}_{level}") for level in range(depth)]
            for group in groups:
                group.__enter__()
            try:
                if kind == "empty":
                    op = EmptyOperator(task_id=f"t{n}", outlets=outlets)
                elif kind == "bash":
                    op = BashOperator(task_id=f"t{n}", bash_command=template or "true", inlets=outlets)
                elif kind == "sql":
                    op = SQLExecuteQueryOperator(task_id=f"t{n}", conn_id="team_a_postgres", sql=template or "select 1")
                    op.__dict__["conn_id"] = conn_id  # bypass the constructor: any value a DAG could smuggle in
                elif kind == "mapped_literal":
                    op = SQLExecuteQueryOperator.partial(task_id=f"t{n}", sql="select 1").expand(
                        conn_id=[conn_id if isinstance(conn_id, str) else "team_a_postgres", "team_b_api"]
                    )
                elif kind == "mapped_xcom":

                    @task(task_id=f"names{n}")
                    def names() -> list[str]:
                        return ["team_a_postgres"]

                    op = SQLExecuteQueryOperator.partial(task_id=f"t{n}", sql="select 1").expand(conn_id=names())
                else:

                    @setup
                    def create() -> None:
                        pass

                    @teardown
                    def delete() -> None:
                        pass

                    op = create.override(task_id=f"s{n}")() >> delete.override(task_id=f"d{n}")()
                target = getattr(op, "operator", op)
                if hasattr(target, "__dict__") and not isinstance(target, list):
                    target.__dict__["executor_config"] = {"odd": odd, "nested": [odd, {"again": odd}]}
                    target.__dict__["weird_conn_id"] = odd
            finally:
                for group in reversed(groups):
                    group.__exit__(None, None, None)
    return dag


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(schedule=SCHEDULES, specs=TASK_SPECS)
def test_builder_never_crashes_and_always_yields_a_schema_valid_document(schedule, specs):
    """Whatever the DAG, the builder returns a document that validates against the published schema,
    every task is described, and every reference it cannot resolve is marked unverifiable."""
    dag = _build(schedule, specs)
    document = build_input(dag, bundle=BUNDLE, enforcement_point="check")
    payload = document.model_dump_json()
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(payload))
    assert InputDocument.model_validate_json(payload) == document
    assert {t.task_id for t in document.tasks} == set(dag.task_dict)
    assert bool(document.dag.schedule_assets) == (schedule is not None)
    for described in document.tasks:
        for reference in described.connections:
            assert reference.verifiable == isinstance(reference.conn_id, str), reference
            if reference.verifiable:
                assert "{{" not in reference.conn_id and "{%" not in reference.conn_id
        assert len(payload) < 8 * 1024 * 1024
