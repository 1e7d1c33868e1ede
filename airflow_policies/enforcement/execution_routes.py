"""Every route of Airflow's Execution API: what it names, what Airflow checks, and what the guard decides.

This table is the guard's own: :class:`~airflow_policies.enforcement.execution_api.ExecutionApiGuard` matches
each request against it and decides as its row says, ``docs/enforcement-points.md`` shows it (written by
``airflow-policies routes``), and ``tests/unit/enforcement/test_execution_routes.py`` fails when the installed
Airflow serves a route it does not list. A request under ``/execution`` that matches no row is refused (per
``failure_mode``), so an Airflow upgrade that adds a route cannot open a door silently.

Paths are Airflow's own, relative to the Execution API's mount point ``/execution``, in the order Airflow
registers them where two could match one request (Starlette serves the first). Routes that exist only in
some API versions (header ``Airflow-API-Version``; Airflow serves the closest older version) say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, cast, get_args

__all__ = [
    "NAME_DECISIONS",
    "ROUTES",
    "ChannelDecision",
    "Decision",
    "NameDecision",
    "Route",
    "RouteMatch",
    "TargetParam",
    "channel_decision",
    "match_route",
    "render_inventory",
]

#: How the guard decides a route.
#:
#: - ``connection_read`` / ``variable_read`` / ``variable_write``: the named connection or Variable, as a
#:   ``runtime`` (``runtime_write``) reference of the calling task;
#: - ``dag_trigger`` / ``dag_clear`` / ``dag_state``: the named DAG, as a reference of kind trigger / clear / state;
#: - ``asset_read``: the named asset or alias (and the assets the alias holds), as an inlet;
#: - ``asset_state``: the named asset's state store, as an outlet of kind ``state_store`` (owner only);
#: - ``state_update``: the caller's own state change; on success the assets it reports events for (outlets),
#:   on deferral the connections its trigger's kwargs name;
#: - ``own_task_instance``: only the token's own task instance (no decision; Airflow checks it too);
#: - ``airflow``: left to Airflow, which checks what the route names itself (or the route names nothing);
#: - ``not_a_task``: called with a connection test's token, not a task's; left to Airflow.
NameDecision = Literal[
    "connection_read",
    "variable_read",
    "variable_write",
    "dag_trigger",
    "dag_clear",
    "dag_state",
    "asset_read",
    "asset_state",
]
Decision = Literal[NameDecision, "state_update", "own_task_instance", "airflow", "not_a_task"]
#: The decisions on what a request's path or query names (each route with one lists its ``targets``).
NAME_DECISIONS: frozenset[str] = frozenset(get_args(NameDecision))

#: What a request parameter names.
TargetKind = Literal["conn_id", "variable", "dag_id", "asset_name", "asset_uri", "alias"]


@dataclass(frozen=True)
class TargetParam:
    """A request parameter that names what the call reaches."""

    where: Literal["path", "query"]
    name: str
    kind: TargetKind


@dataclass(frozen=True)
class Route:
    """One Execution API route: what it names, what Airflow checks in multi-team mode, how the guard decides,
    which request parameters name what it reaches, and the API versions that serve it."""

    method: str
    path: str
    family: str
    names: str
    airflow_checks: str
    decision: Decision
    targets: tuple[TargetParam, ...] = ()
    since: str | None = None
    removed_in: str | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        """The path as Starlette matches it: ``{x}`` is one segment, ``{x:path}`` the rest."""
        return _compile(self.path)

    def served_at(self, api_version: str | None) -> bool:
        """Whether Airflow serves this route to a request of ``api_version`` (``None``: the latest)."""
        if api_version is None:
            return self.removed_in is None
        return (self.since is None or api_version >= self.since) and (
            self.removed_in is None or api_version < self.removed_in
        )


@dataclass(frozen=True)
class RouteMatch:
    """A route and the path parameters of the request it matched."""

    route: Route
    path_params: dict[str, str]


_PARAM = re.compile(r"\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<convertor>path))?\}")
_COMPILED: dict[str, re.Pattern[str]] = {}


def _compile(path: str) -> re.Pattern[str]:
    compiled = _COMPILED.get(path)
    if compiled is None:
        parts, position = [], 0
        for param in _PARAM.finditer(path):
            parts.append(re.escape(path[position : param.start()]))
            parts.append(f"(?P<{param['name']}>{'.*' if param['convertor'] else '[^/]+'})")
            position = param.end()
        parts.append(re.escape(path[position:]))
        compiled = _COMPILED[path] = re.compile("^" + "".join(parts) + "$")
    return compiled


def _path(name: str, kind: TargetKind) -> TargetParam:
    return TargetParam("path", name, kind)


def _query(name: str, kind: TargetKind) -> TargetParam:
    return TargetParam("query", name, kind)


_NO_TEAM_CHECK = "none (only that the token is valid)"
_TI_SELF = "`ti:self`: the path's task instance must be the token's"
_DAG = (_path("dag_id", "dag_id"),)
_DAG_QUERY = (_query("dag_id", "dag_id"),)
_STATE: Decision = "dag_state"
_XCOM_CHECK = "team-scoped: same team, or reading a teamless DAG's; writes same team only"

#: Every route of apache-airflow-core 3.3.2's Execution API, in Airflow's order of registration.
ROUTES: tuple[Route, ...] = (
    Route("GET", "/health", "health", "nothing", "none (unauthenticated)", "airflow"),
    Route("GET", "/health/ping", "health", "nothing", "none (unauthenticated)", "airflow"),
    Route("GET", "/assets/by-name", "assets", "asset", _NO_TEAM_CHECK, "asset_read", (_query("name", "asset_name"),)),
    Route("GET", "/assets/by-uri", "assets", "asset", _NO_TEAM_CHECK, "asset_read", (_query("uri", "asset_uri"),)),
    Route(
        "GET",
        "/assets/by-alias",
        "assets",
        "asset alias, its assets",
        _NO_TEAM_CHECK,
        "asset_read",
        (_query("alias_name", "alias"),),
        since="2026-06-30",
    ),
    Route(
        "GET",
        "/asset-events/by-asset",
        "asset events",
        "asset, its events",
        _NO_TEAM_CHECK,
        "asset_read",
        (_query("name", "asset_name"), _query("uri", "asset_uri")),
    ),
    Route(
        "GET",
        "/asset-events/by-asset-alias",
        "asset events",
        "asset alias, its events",
        _NO_TEAM_CHECK,
        "asset_read",
        (_query("name", "alias"),),
    ),
    Route(
        "GET",
        "/connection-tests/{connection_test_id}/connection",
        "connection tests",
        "connection under test",
        "`ct:self`: a connection test's own token",
        "not_a_task",
        since="2026-06-30",
    ),
    Route(
        "PATCH",
        "/connection-tests/{connection_test_id}",
        "connection tests",
        "connection test result",
        "`ct:self`: a connection test's own token",
        "not_a_task",
        since="2026-06-30",
    ),
    Route(
        "GET",
        "/connections/{connection_id}",
        "connections",
        "connection",
        "team-scoped lookup (the team's or a teamless connection); the access hook is a stub",
        "connection_read",
        (_path("connection_id", "conn_id"),),
    ),
    Route(
        "GET",
        "/dag-runs/{dag_id}/previous",
        "DAG runs",
        "DAG, its runs",
        _NO_TEAM_CHECK,
        _STATE,
        _DAG,
        since="2025-08-10",
        removed_in="2026-04-06",
    ),
    Route(
        "GET",
        "/dag-runs/{dag_id}/{run_id}",
        "DAG runs",
        "DAG run (with its conf)",
        _NO_TEAM_CHECK,
        _STATE,
        _DAG,
        since="2026-04-06",
    ),
    Route(
        "POST",
        "/dag-runs/{dag_id}/{run_id}",
        "DAG runs",
        "DAG (a new run of it)",
        "only that the DAG allows operator-triggered runs",
        "dag_trigger",
        _DAG,
    ),
    Route("POST", "/dag-runs/{dag_id}/{run_id}/clear", "DAG runs", "DAG run", _NO_TEAM_CHECK, "dag_clear", _DAG),
    Route("GET", "/dag-runs/{dag_id}/{run_id}/state", "DAG runs", "DAG run", _NO_TEAM_CHECK, _STATE, _DAG),
    Route("GET", "/dag-runs/count", "DAG runs", "DAG, its runs", _NO_TEAM_CHECK, _STATE, _DAG_QUERY),
    Route(
        "GET",
        "/dag-runs/previous",
        "DAG runs",
        "DAG, its runs",
        _NO_TEAM_CHECK,
        _STATE,
        _DAG_QUERY,
        since="2026-04-06",
    ),
    Route(
        "GET",
        "/dags/{dag_id}",
        "DAGs",
        "DAG (bundle, file, owners, tags)",
        _NO_TEAM_CHECK,
        _STATE,
        _DAG,
        since="2026-04-06",
    ),
    Route(
        "PATCH",
        "/task-instances/{task_instance_id}/run",
        "task instances",
        "task instance",
        f"{_TI_SELF} (workload tokens too)",
        "own_task_instance",
    ),
    Route(
        "PATCH",
        "/task-instances/{task_instance_id}/state",
        "task instances",
        "task instance; on success the assets it reports events for; on deferral its trigger",
        f"{_TI_SELF}; asset events are recorded for any asset (only their consumers are team-filtered); "
        "the trigger gets the task's team",
        "state_update",
    ),
    Route(
        "PATCH",
        "/task-instances/{task_instance_id}/skip-downstream",
        "task instances",
        "task instances of its own run",
        _TI_SELF,
        "own_task_instance",
    ),
    Route(
        "PUT",
        "/task-instances/{task_instance_id}/heartbeat",
        "task instances",
        "task instance",
        _TI_SELF,
        "own_task_instance",
    ),
    Route(
        "PUT",
        "/task-instances/{task_instance_id}/rtif",
        "task instances",
        "task instance",
        _TI_SELF,
        "own_task_instance",
    ),
    Route(
        "PATCH",
        "/task-instances/{task_instance_id}/rendered-map-index",
        "task instances",
        "task instance",
        _TI_SELF,
        "own_task_instance",
    ),
    Route(
        "GET",
        "/task-instances/{task_instance_id}/previous-successful-dagrun",
        "task instances",
        "its own DAG's runs",
        _TI_SELF,
        "own_task_instance",
    ),
    Route(
        "GET", "/task-instances/count", "task instances", "DAG, its task instances", _NO_TEAM_CHECK, _STATE, _DAG_QUERY
    ),
    Route(
        "GET",
        "/task-instances/previous/{dag_id}/{task_id}",
        "task instances",
        "DAG, a task instance of it",
        _NO_TEAM_CHECK,
        _STATE,
        _DAG,
    ),
    Route(
        "GET", "/task-instances/states", "task instances", "DAG, its task instances", _NO_TEAM_CHECK, _STATE, _DAG_QUERY
    ),
    Route(
        "GET",
        "/task-instances/breadcrumbs",
        "task instances",
        "DAG run, its finished task instances",
        _NO_TEAM_CHECK,
        _STATE,
        _DAG_QUERY,
    ),
    Route(
        "GET",
        "/task-instances/{task_instance_id}/validate-inlets-and-outlets",
        "task instances",
        "task instance (its serialized inlets and outlets)",
        _TI_SELF,
        "own_task_instance",
    ),
    Route(
        "GET",
        "/task-reschedules/{task_instance_id}/start_date",
        "task reschedules",
        "task instance",
        _TI_SELF,
        "own_task_instance",
    ),
    Route(
        "GET",
        "/variables/keys",
        "variables",
        "variable keys (a listing)",
        "lists only the team's Variables",
        "airflow",
        since="2026-06-30",
    ),
    Route(
        "GET",
        "/variables/{variable_key:path}",
        "variables",
        "variable",
        "team-scoped lookup (the team's or a teamless Variable); the access hook is a stub",
        "variable_read",
        (_path("variable_key", "variable"),),
    ),
    Route(
        "PUT",
        "/variables/{variable_key:path}",
        "variables",
        "variable",
        "written with the team's name, but upserted by key: another team's Variable is overwritten",
        "variable_write",
        (_path("variable_key", "variable"),),
    ),
    Route(
        "DELETE",
        "/variables/{variable_key:path}",
        "variables",
        "variable",
        "deletes the team's or a teamless Variable",
        "variable_write",
        (_path("variable_key", "variable"),),
    ),
    Route(
        "GET", "/xcoms/{dag_id}/{run_id}/{task_id}/{key:path}/item/{offset}", "XComs", "XCom", _XCOM_CHECK, "airflow"
    ),
    Route("GET", "/xcoms/{dag_id}/{run_id}/{task_id}/{key:path}/slice", "XComs", "XCom", _XCOM_CHECK, "airflow"),
    Route("HEAD", "/xcoms/{dag_id}/{run_id}/{task_id}/{key:path}", "XComs", "XCom", _XCOM_CHECK, "airflow"),
    Route("GET", "/xcoms/{dag_id}/{run_id}/{task_id}/{key:path}", "XComs", "XCom", _XCOM_CHECK, "airflow"),
    Route("POST", "/xcoms/{dag_id}/{run_id}/{task_id}/{key:path}", "XComs", "XCom", _XCOM_CHECK, "airflow"),
    Route("DELETE", "/xcoms/{dag_id}/{run_id}/{task_id}/{key:path}", "XComs", "XCom", _XCOM_CHECK, "airflow"),
    Route(
        "POST", "/hitlDetails/{task_instance_id}", "human in the loop", "task instance", _TI_SELF, "own_task_instance"
    ),
    Route(
        "PATCH", "/hitlDetails/{task_instance_id}", "human in the loop", "task instance", _TI_SELF, "own_task_instance"
    ),
    Route(
        "GET", "/hitlDetails/{task_instance_id}", "human in the loop", "task instance", _TI_SELF, "own_task_instance"
    ),
    *(
        Route(method, path, "task state store", "task instance", _TI_SELF, "own_task_instance", since="2026-06-30")
        for method, path in (
            ("GET", "/store/ti/{task_instance_id}/{key:path}"),
            ("PUT", "/store/ti/{task_instance_id}/{key:path}"),
            ("DELETE", "/store/ti/{task_instance_id}/{key:path}"),
            ("DELETE", "/store/ti/{task_instance_id}"),
        )
    ),
    *(
        Route(
            method,
            f"/store/asset/by-{by}/{what}",
            "asset state store",
            "asset",
            _NO_TEAM_CHECK,
            "asset_state",
            (_query(by, "asset_name" if by == "name" else "asset_uri"),),
            since="2026-06-30",
        )
        for by in ("name", "uri")
        for method, what in (("GET", "value"), ("PUT", "value"), ("DELETE", "value"), ("DELETE", "clear"))
    ),
    Route("GET", "/changelog", "API changelog (Cadwyn)", "nothing", "none (unauthenticated)", "airflow"),
)


#: How a route is decided when Airflow serves the Execution API in process to team code (a triggerer's triggers,
#: the DAG processor's parse children and DAG callbacks). That app switches Airflow's token, connection,
#: Variable and XCom checks off and no token names a task, so what the API server leaves to Airflow or keys by
#: the token's task instance is decided here instead:
#:
#: - a route that names something: as the API server's guard decides it, for the channel's team;
#: - ``dag_xcom``: an XCom route names a DAG, as a reference of kind ``xcom``;
#: - ``task_instance``: a route keyed by a task instance names that task instance's DAG (read from the metadata
#:   DB), as a reference of kind ``task_instance``;
#: - ``airflow``: a route that names nothing (health, the API changelog);
#: - ``refuse``: a connection test's route, and the Variable key listing, which Airflow cannot scope to a team
#:   there (it lists every team's keys).
ChannelDecision = Literal[NameDecision, "dag_xcom", "task_instance", "airflow", "refuse"]


def channel_decision(route: Route) -> ChannelDecision:
    """How the guard of an in-process channel decides ``route``."""
    if route.decision in NAME_DECISIONS:
        return cast("NameDecision", route.decision)
    if route.path.startswith("/xcoms/"):
        return "dag_xcom"
    if "{task_instance_id}" in route.path:
        return "task_instance"
    if route.names == "nothing":
        return "airflow"
    return "refuse"


def match_route(method: str, path: str, api_version: str | None = None) -> RouteMatch | None:
    """The route Airflow serves ``method path`` (relative to ``/execution``) with, or ``None``."""
    for route in ROUTES:
        if route.method != method or not route.served_at(api_version):
            continue
        matched = route.pattern.match(path)
        if matched is not None:
            return RouteMatch(route, matched.groupdict())
    return None


_DECISIONS: dict[Decision, str] = {
    "connection_read": "the connection, as a runtime reference: `connections.foreign_connection`",
    "variable_read": "the Variable, as a runtime reference: `variables.foreign_variable`",
    "variable_write": "the Variable, as a runtime write (own Variables only): `variables.foreign_variable`",
    "dag_trigger": "the DAG, as a trigger reference: `cross_dag.foreign_target`",
    "dag_clear": "the DAG, as a clear reference: `cross_dag.foreign_target`",
    "dag_state": "the DAG, as a state reference: `cross_dag.foreign_target`",
    "asset_read": "the asset (an alias with the assets it holds), as an inlet: `assets.foreign_consume`",
    "asset_state": "the asset's state store, owner only: `assets.produce_outside_namespace`",
    "state_update": "own task instance; success: each asset it reports an event for (declared or through an "
    "alias), as an outlet: `assets.produce_outside_namespace`; deferral: the connections its trigger's kwargs "
    "name: `connections.foreign_connection`; refused → the task instance fails",
    "own_task_instance": "own task instance only (checked without a decision)",
    "airflow": "left to Airflow",
    "not_a_task": "left to Airflow (a connection test's token, not a task's)",
}


_CHANNEL_DECISIONS: dict[ChannelDecision, str] = {
    "dag_xcom": "the DAG, as an XCom reference: `cross_dag.foreign_target`",
    "task_instance": "the task instance's DAG, as a task-instance reference: `cross_dag.foreign_target`",
    "airflow": "served (names nothing)",
    "refuse": "refused",
}


def _in_process(route: Route) -> str:
    decision = channel_decision(route)
    return "as on the API server" if decision in NAME_DECISIONS else _CHANNEL_DECISIONS[decision]


def _versions(route: Route) -> str:
    if route.since and route.removed_in:
        return f"{route.since} to before {route.removed_in}"
    if route.since:
        return f"from {route.since}"
    return "all"


def render_inventory() -> str:
    """The route inventory as a Markdown table (``docs/enforcement-points.md``)."""
    lines = [
        "| route | family | names | Airflow 3.3.2 checks (multi-team) | airflow-policies decides "
        "| in process (triggerer, DAG processor) | API versions |",
        "|---|---|---|---|---|---|---|",
    ]
    for route in ROUTES:
        lines.append(
            f"| `{route.method} /execution{route.path}` | {route.family} | {route.names} | {route.airflow_checks} "
            f"| {_DECISIONS[route.decision]} | {_in_process(route)} | {_versions(route)} |"
        )
    return "\n".join(lines) + "\n"
