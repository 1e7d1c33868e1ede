"""The guard's route table is Airflow's: every route the installed Execution API serves, in every API version,
is listed (and nothing else), the docs show the table, and requests match the route Airflow serves them with."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from airflow_policies.commands.routes import BEGIN, END
from airflow_policies.enforcement.execution_routes import NAME_DECISIONS, ROUTES, match_route, render_inventory
from tests.conftest import REPO


@pytest.fixture(scope="module")
def installed() -> dict[tuple[str, str], set[str]]:
    """(method, path) -> the API versions the installed Airflow serves it in (all of them when unversioned)."""
    from airflow.api_fastapi.execution_api.app import create_task_execution_api_app

    app = create_task_execution_api_app()
    # Cadwyn builds the per-version routers on the first request; build them now, as that request would.
    app._cadwyn_initialize()
    versions = set(app.router.versioned_routers)
    served: dict[tuple[str, str], set[str]] = {}
    for version, router in app.router.versioned_routers.items():
        for route in router.routes:
            if isinstance(route, APIRoute):
                for method in route.methods:
                    served.setdefault((method, route.path), set()).add(version)
    for route in app.router.unversioned_routes:
        if isinstance(route, APIRoute):
            for method in route.methods:
                served.setdefault((method, route.path), set()).update(versions)
    return served


def _api_versions(installed: dict[tuple[str, str], set[str]]) -> set[str]:
    return set().union(*installed.values())


def test_every_installed_route_is_in_the_table(installed):
    """An Airflow that serves a route the table does not list fails here, before the guard refuses it live."""
    listed = {(r.method, r.path) for r in ROUTES}
    assert sorted(set(installed) - listed) == [], "add these routes to execution_routes.ROUTES, decided"
    assert sorted(listed - set(installed)) == [], "the table lists routes Airflow no longer serves"


def test_each_route_is_listed_once():
    keys = [(r.method, r.path) for r in ROUTES]
    assert len(keys) == len(set(keys))


def test_the_table_knows_which_api_versions_serve_each_route(installed):
    versions = _api_versions(installed)
    for route in ROUTES:
        table = {v for v in versions if route.served_at(v)}
        assert table == installed[route.method, route.path], f"{route.method} {route.path}"


def test_routes_without_a_version_header_are_the_latest_versions(installed):
    latest = max(_api_versions(installed))
    for route in ROUTES:
        assert route.served_at(None) == (latest in installed[route.method, route.path]), route.path


def test_decided_routes_name_their_targets():
    """Each route decided on a name says where the request carries it; the others carry none."""
    for route in ROUTES:
        assert bool(route.targets) == (route.decision in NAME_DECISIONS), route.path
        for target in route.targets:
            if target.where == "path":
                assert f"{{{target.name}" in route.path, route.path


def test_routes_keyed_by_a_task_instance_are_decided_as_its_own():
    for route in ROUTES:
        if "{task_instance_id}" in route.path:
            assert route.decision in ("own_task_instance", "state_update"), route.path


@pytest.mark.parametrize(
    ("method", "path", "version", "expected"),
    [
        ("GET", "/variables/keys", None, "/variables/keys"),
        # Before the listing existed, Airflow served this path as a read of the Variable called "keys".
        ("GET", "/variables/keys", "2025-11-05", "/variables/{variable_key:path}"),
        ("GET", "/variables/team_a/threshold", None, "/variables/{variable_key:path}"),
        ("GET", "/dag-runs/team_b__x/previous", "2025-09-23", "/dag-runs/{dag_id}/previous"),
        ("GET", "/dag-runs/team_b__x/previous", None, "/dag-runs/{dag_id}/{run_id}"),
        ("GET", "/dag-runs/count", None, "/dag-runs/count"),
        ("POST", "/dag-runs/team_b__x/manual__1", None, "/dag-runs/{dag_id}/{run_id}"),
        ("POST", "/dag-runs/team_b__x/manual__1/clear", None, "/dag-runs/{dag_id}/{run_id}/clear"),
        ("GET", "/xcoms/d/r/t/a/b/slice", None, "/xcoms/{dag_id}/{run_id}/{task_id}/{key:path}/slice"),
        ("DELETE", "/store/ti/0190/some/key", None, "/store/ti/{task_instance_id}/{key:path}"),
        ("DELETE", "/store/ti/0190", None, "/store/ti/{task_instance_id}"),
        ("GET", "/store/asset/by-name/value", "2026-04-06", None),
        ("GET", "/task-instances/0190/state", None, None),
        ("GET", "/nowhere", None, None),
    ],
)
def test_a_request_matches_the_route_airflow_serves_it_with(method, path, version, expected):
    match = match_route(method, path, version)
    assert (match.route.path if match else None) == expected


def test_path_parameters_are_read_as_starlette_reads_them():
    match = match_route("PUT", "/variables/team_a/nested/key")
    assert match is not None and match.path_params == {"variable_key": "team_a/nested/key"}
    assert match_route("GET", "/dags/team_b__x/extra") is None  # {dag_id} is one segment


def test_the_docs_show_the_table():
    """docs/enforcement-points.md holds what `airflow-policies routes --docs docs/enforcement-points.md` writes."""
    text = (REPO / "docs" / "enforcement-points.md").read_text()
    assert BEGIN in text and END in text
    assert text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip() == render_inventory().strip()
