"""What a task's Execution API request reaches, read from the request alone, and how it enters the document."""

from __future__ import annotations

import json

import pytest

from airflow_policies.enforcement.execution_routes import match_route
from airflow_policies.enforcement.runtime_calls import Call, call_of, with_call
from tests.unit.enforcement.documents import document, task


def _call(method: str, path: str, query: str = "", body: dict | str | None = None) -> Call | None:
    match = match_route(method, path)
    assert match is not None, path
    pairs = [tuple(pair.split("=", 1)) for pair in query.split("&") if pair]
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode() if body is not None else None
    return call_of(match, pairs, raw)


@pytest.mark.parametrize(
    ("method", "path", "query", "kind", "targets"),
    [
        ("GET", "/connections/team_b_warehouse", "", "connection_read", [("conn_id", "team_b_warehouse")]),
        ("GET", "/variables/team_a/threshold", "", "variable_read", [("variable", "team_a/threshold")]),
        ("PUT", "/variables/team_b_token", "", "variable_write", [("variable", "team_b_token")]),
        ("DELETE", "/variables/environment_name", "", "variable_write", [("variable", "environment_name")]),
        ("POST", "/dag-runs/team_b__ledger/manual__1", "", "dag_trigger", [("dag_id", "team_b__ledger")]),
        ("POST", "/dag-runs/team_b__ledger/r/clear", "", "dag_clear", [("dag_id", "team_b__ledger")]),
        ("GET", "/dag-runs/team_b__ledger/r/state", "", "dag_state", [("dag_id", "team_b__ledger")]),
        ("GET", "/dags/team_b__ledger", "", "dag_state", [("dag_id", "team_b__ledger")]),
        ("GET", "/task-instances/previous/team_b__ledger/t", "", "dag_state", [("dag_id", "team_b__ledger")]),
        ("GET", "/dag-runs/count", "dag_id=team_b__ledger&states=success", "dag_state", [("dag_id", "team_b__ledger")]),
        ("GET", "/assets/by-name", "name=orders", "asset_read", [("asset_name", "orders")]),
        ("GET", "/assets/by-alias", "alias_name=team_b.alias", "asset_read", [("alias", "team_b.alias")]),
        (
            "GET",
            "/asset-events/by-asset",
            "name=n&uri=s3://team-b/x",
            "asset_read",
            [("asset_name", "n"), ("asset_uri", "s3://team-b/x")],
        ),
        ("GET", "/asset-events/by-asset", "name=&uri=s3://team-b/x", "asset_read", [("asset_uri", "s3://team-b/x")]),
        (
            "PUT",
            "/store/asset/by-uri/value",
            "uri=s3://team-b/x&key=cursor",
            "asset_state",
            [("asset_uri", "s3://team-b/x")],
        ),
    ],
)
def test_a_request_names_what_it_reaches(method, path, query, kind, targets):
    call = _call(method, path, query)
    assert call is not None and (call.kind, list(call.targets)) == (kind, targets)
    assert call.location == f"Execution API {method} {match_route(method, path).route.path}"


def test_every_value_of_a_repeated_parameter_is_a_target():
    """FastAPI reads one of the values; which one is its business, so each must pass."""
    call = _call("GET", "/task-instances/states", "dag_id=team_a__etl&dag_id=team_b__ledger&dag_id=team_a__etl")
    assert call is not None and call.targets == (("dag_id", "team_a__etl"), ("dag_id", "team_b__ledger"))


def test_a_request_missing_its_target_is_left_to_airflow():
    """Airflow answers 422 to a count without dag_id; there is nothing to decide."""
    assert _call("GET", "/dag-runs/count", "states=success") is None


def _success(**fields) -> dict:
    return {"state": "success", "end_date": "2026-01-01T00:00:00Z", **fields}


def test_a_success_names_declared_outlets_and_alias_destinations():
    body = _success(
        task_outlets=[
            {"name": "team_a.out", "uri": "s3://team-a/out", "type": "Asset"},
            {"name": "team_a.alias", "type": "AssetAlias"},
            {"name": "orders", "type": "AssetNameRef"},
            {"uri": "s3://team-b/prices", "type": "AssetUriRef"},
        ],
        outlet_events=[
            {
                "dest_asset_key": {"name": "team_b.ledger", "uri": "s3://team-b/ledger"},
                "source_alias_name": "team_a.alias",
                "extra": {},
            },
        ],
    )
    call = _call("PATCH", "/task-instances/0190/state", body=body)
    assert call is not None and call.kind == "asset_produce"
    assert call.targets == (
        ("asset", "team_a.out", "s3://team-a/out"),
        ("alias", "team_a.alias"),
        ("asset_name", "orders"),
        ("asset_uri", "s3://team-b/prices"),
        ("asset", "team_b.ledger", "s3://team-b/ledger"),
    )


@pytest.mark.parametrize(
    "destination",
    [
        {"name": "", "uri": "s3://team-b/ledger"},  # Airflow keys the event by ("", uri) all the same
        {"name": 3, "uri": "s3://team-b/ledger"},
        {"uri": "s3://team-b/ledger"},
        {"name": "team_b.ledger"},
        {"name": "team_b.ledger", "uri": "s3://team-b/ledger", "extra": 1},
        None,
        "s3://team-b/ledger",
    ],
)
def test_an_outlet_event_destination_the_guard_cannot_name_is_an_unknown_outlet(destination):
    """Written as the author: every shape of dest_asset_key other than two non-empty strings is refused, whatever
    Airflow would make of it."""
    event = {"dest_asset_key": destination, "source_alias_name": "team_a.alias", "extra": {}}
    body = _success(task_outlets=[{"name": "team_a.alias", "type": "AssetAlias"}], outlet_events=[event])
    call = _call("PATCH", "/task-instances/0190/state", body=body)
    assert call is not None and [t[0] for t in call.targets] == ["alias", "asset_key_unreadable"]
    outlets = with_call(document("t"), "t", call, FakeAssets()).tasks[0].outlets
    assert [o.kind for o in outlets] == ["alias", "unknown"]
    assert outlets[1].type.startswith("outlet event destination ")


@pytest.mark.parametrize(
    "body",
    [
        _success(),  # no outlets: nothing to decide, the common case costs nothing
        {"state": "failed", "end_date": "2026-01-01T00:00:00Z"},
        {"state": "up_for_retry", "end_date": "2026-01-01T00:00:00Z"},
        "{not json",
        "[1, 2]",
    ],
)
def test_state_updates_that_name_nothing_are_left_to_airflow(body):
    assert _call("PATCH", "/task-instances/0190/state", body=body) is None


def test_a_deferral_names_the_connections_of_its_trigger_kwargs():
    body = {
        "state": "deferred",
        "classpath": "probe.ConnectionTrigger",
        "trigger_kwargs": {
            "conn_id": "team_b_warehouse",
            "poke_interval": 5.0,
            "nested": {"aws_conn_id": "x"},
            "hooks": [{"http_conn_id": {"__classname__": "builtins.tuple"}}],
            "unset_conn_id": None,
        },
        "next_method": "execute_complete",
    }
    call = _call("PATCH", "/task-instances/0190/state", body=body)
    assert call is not None and call.kind == "trigger_defer"
    assert call.targets == (
        ("trigger", "probe.ConnectionTrigger"),
        ("trigger_conn", "probe.ConnectionTrigger", "conn_id", "team_b_warehouse"),
        ("trigger_conn", "probe.ConnectionTrigger", "nested.aws_conn_id", "x"),
        (
            "trigger_conn_unreadable",
            "probe.ConnectionTrigger",
            "hooks.0.http_conn_id",
            "{'__classname__': 'builtins.tuple'}",
        ),
    )


def test_encrypted_trigger_kwargs_cannot_be_read_so_they_are_a_target():
    body = {"state": "deferred", "classpath": "x.T", "trigger_kwargs": "gAAAAB...", "next_method": "m"}
    call = _call("PATCH", "/task-instances/0190/state", body=body)
    assert call is not None and call.targets == (("trigger_kwargs", "x.T"),)


def test_every_deferral_names_its_trigger_class_and_the_callables_it_is_told_to_import():
    kwargs = {
        "moment": 1,
        "callback_path": "os.system",
        "callback_kwargs": {"on_done_callable": "team_a_callbacks.done", "callable": {"__classname__": "x"}},
        "python_callable_name": "not a callable kwarg",
    }
    body = {"state": "deferred", "classpath": "x.T", "trigger_kwargs": kwargs, "next_method": "m"}
    call = _call("PATCH", "/task-instances/0190/state", body=body)
    assert call is not None and call.targets == (
        ("trigger", "x.T"),
        ("trigger_callable", "x.T", "callback_path", "os.system"),
        ("trigger_callable", "x.T", "callback_kwargs.on_done_callable", "team_a_callbacks.done"),
        ("trigger_callable", "x.T", "callback_kwargs.callable", "{'__classname__': 'x'}"),
    )
    (trigger,) = with_call(document("t"), "t", call, FakeAssets()).tasks[0].triggers
    assert (trigger.classpath, trigger.callables, trigger.verifiable, trigger.source) == (
        "x.T", ["os.system", "team_a_callbacks.done", "{'__classname__': 'x'}"], True, "runtime",
    )  # fmt: skip


def test_encrypted_kwargs_make_an_unverifiable_trigger():
    body = {"state": "deferred", "classpath": "x.T", "trigger_kwargs": "gAAAAB...", "next_method": "m"}
    call = _call("PATCH", "/task-instances/0190/state", body=body)
    (trigger,) = with_call(document("t"), "t", call, FakeAssets()).tasks[0].triggers
    assert (trigger.classpath, trigger.callables, trigger.verifiable) == ("x.T", [], False)


class FakeAssets:
    def uri_of(self, name):
        return {"orders": "s3://team-b/orders"}.get(name)

    def assets_of_alias(self, alias):
        return [("team_b.ledger", "s3://team-b/ledger")] if alias == "team_a.alias" else []


def _added(call: Call) -> dict:
    caller, other = with_call(document("caller", "other"), "caller", call, FakeAssets()).tasks
    assert other == task("other"), "only the calling task gets the call"
    return caller.model_dump(include={"inlets", "outlets", "dag_refs", "connections", "variables"})


def test_a_read_by_name_is_judged_on_the_asset_airflow_returns():
    """An asset called 'orders' in team B's URI namespace is judged by that URI, not by its innocent name."""
    added = _added(Call("asset_read", (("asset_name", "orders"), ("asset_name", "gone")), "loc"))
    assert [(a["kind"], a["name"], a["uri"]) for a in added["inlets"]] == [
        ("asset", "orders", "s3://team-b/orders"),
        ("name_ref", "gone", None),
    ]


def test_an_alias_read_reaches_every_asset_it_holds():
    added = _added(Call("asset_read", (("alias", "team_a.alias"),), "loc"))
    assert [(a["kind"], a["name"], a["uri"]) for a in added["inlets"]] == [
        ("alias", "team_a.alias", None),
        ("asset", "team_b.ledger", "s3://team-b/ledger"),
    ]


def test_produced_assets_and_state_stores_are_outlets():
    produced = _added(Call("asset_produce", (("asset", "n", "s3://team-b/n"), ("alias", "team_a.alias")), "loc"))
    assert [(a["kind"], a["uri"]) for a in produced["outlets"]] == [("asset", "s3://team-b/n"), ("alias", None)]
    store = _added(Call("asset_state", (("asset_name", "orders"), ("asset_uri", "s3://team-a/x")), "loc"))
    assert [(a["kind"], a["name"], a["uri"]) for a in store["outlets"]] == [
        ("state_store", "orders", "s3://team-b/orders"),
        ("state_store", None, "s3://team-a/x"),
    ]


def test_dag_calls_are_dag_references_of_their_kind():
    for kind, ref_kind in (("dag_trigger", "trigger"), ("dag_clear", "clear"), ("dag_state", "state")):
        added = _added(Call(kind, (("dag_id", "team_b__ledger"),), "Execution API X"))
        assert added["dag_refs"] == [
            {
                "dag_id": "team_b__ledger",
                "kind": ref_kind,
                "verifiable": True,
                "raw": "team_b__ledger",
                "location": "Execution API X",
            }
        ]


def test_variable_reads_and_writes_differ_by_source():
    assert _added(Call("variable_read", (("variable", "k"),), "loc"))["variables"][0]["source"] == "runtime"
    assert _added(Call("variable_write", (("variable", "k"),), "loc"))["variables"][0]["source"] == "runtime_write"


def test_trigger_connections_are_runtime_references_and_unreadable_ones_unverifiable():
    targets = (
        ("trigger_conn", "probe.T", "conn_id", "team_b_warehouse"),
        ("trigger_conn_unreadable", "probe.T", "http_conn_id", "{...}"),
        ("trigger_kwargs", "probe.T"),
    )
    connections = _added(Call("trigger_defer", targets, "loc"))["connections"]
    assert [(c["conn_id"], c["verifiable"], c["source"], c["location"]) for c in connections] == [
        ("team_b_warehouse", True, "runtime", "trigger probe.T: conn_id"),
        (None, False, "runtime", "trigger probe.T: http_conn_id"),
        (None, False, "runtime", "trigger probe.T"),
    ]


def test_a_call_describes_what_was_asked():
    assert Call("dag_trigger", (("dag_id", "team_b__x"),), "l").describe() == "trigger DAG 'team_b__x'"
    produce = Call("asset_produce", (("asset", "n", "s3://b/n"), ("alias", "a")), "l")
    assert produce.describe() == "report asset events for asset 's3://b/n' (name 'n'), asset alias 'a'"
