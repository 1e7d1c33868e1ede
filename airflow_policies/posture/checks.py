"""The posture checks: for one component, every way the code of a team running there could act as another team.

Each check reads what the component itself reads (Airflow's configuration as Airflow resolves it, the process's
environment, the processes of the host the same Unix user can read) and returns findings with their fix. Nothing
is decided by OPA here: a finding is a fact about the deployment, not about a DAG.
"""

from __future__ import annotations

import datetime
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from airflow_policies.document.models import ExecutorInfo
from airflow_policies.posture import sources
from airflow_policies.posture.models import Component, Finding, PostureReport, Remedy, Severity

__all__ = ["Deployment", "inspect", "read_deployment", "teams_running_code"]

#: The enforcement points each component hosts: with one of them off, the component decides nothing there.
COMPONENT_POINTS: dict[Component, tuple[str, ...]] = {
    "scheduler": ("scheduler",),
    "dag-processor": ("dag_processor_manager", "dag_processor_channel"),
    "triggerer": ("triggerer",),
    "api-server": ("execution_api",),
    "worker": ("worker",),
}
_SEPARATE = (
    "run this component once per team, each as its own Unix user, container or host, so that no other team's code "
    "shares its processes or can read them"
)
_PER_TEAM_WORKERS = (
    "run the team's tasks on an executor of its own with workers elsewhere ([core] executor = "
    "team_a=CeleryExecutor or KubernetesExecutor; see docs/hardening.md): a LocalExecutor task is a child of the "
    "scheduler"
)


@dataclass(frozen=True)
class Deployment:
    """What Airflow's configuration in this process says about teams, executors and the policy."""

    multi_team: bool
    #: Each configured DAG bundle and its team (``None``: teamless).
    bundles: dict[str, str | None]
    #: ``[core] executor`` as the scheduler loads it (global ones have no team); empty with multi_team off.
    executors: list[ExecutorInfo]
    #: Whether ``[core] executor`` names a LocalExecutor at all (also with multi_team off).
    local_executor: bool
    disabled_points: frozenset[str]
    #: Whether Airflow's policy plugin manager holds this package's ``dag_policy``.
    policy_loaded: bool
    #: Whether the API server's app holds the Execution API guard (``None``: not known outside the API server).
    guard_installed: bool | None = None
    #: The global executors the team registry opens to every team (``global.executors``; ``None``: not read).
    opened_global_executors: tuple[str, ...] | None = None

    @property
    def teams(self) -> list[str]:
        return sorted({t for t in self.bundles.values() if t} | {e.team for e in self.executors if e.team})

    def executors_of(self, team: str) -> list[ExecutorInfo]:
        """The executors a team's tasks may get: its own, else the global ones."""
        own = [e for e in self.executors if e.team == team]
        return own or [e for e in self.executors if e.team is None]


def read_deployment(
    guard_installed: bool | None = None, opened_global_executors: tuple[str, ...] | None = None
) -> Deployment:
    """The deployment as this process's Airflow configuration describes it (and, given, the registry's
    ``global.executors``)."""
    from airflow import settings as airflow_settings
    from airflow.configuration import conf

    from airflow_policies._config import settings
    from airflow_policies.document.builder import configured_executors

    configured = conf.getjson("dag_processor", "dag_bundle_config_list", fallback=[]) or []
    bundles = configured if isinstance(configured, list) else []
    hooks = airflow_settings.get_policy_plugin_manager().hook.dag_policy.get_hookimpls()
    return Deployment(
        multi_team=conf.getboolean("core", "multi_team", fallback=False),
        bundles={b["name"]: b.get("team_name") for b in bundles if isinstance(b, dict) and "name" in b},
        executors=configured_executors(),
        local_executor="LocalExecutor" in conf.get("core", "executor", fallback=""),
        disabled_points=frozenset(settings().disabled_points),
        policy_loaded=any(h.plugin_name == "airflow_policies" for h in hooks),
        guard_installed=guard_installed,
        opened_global_executors=opened_global_executors,
    )


def teams_running_code(
    component: Component, deployment: Deployment, team: str | None = None, bundles: list[str] | None = None
) -> list[str]:
    """The teams whose code runs in ``component``: the team it serves (``--team``), else every team of the bundles
    it is configured with (``bundles``: only those, as ``dag-processor --bundle-name``); for the scheduler, the
    teams whose tasks a LocalExecutor runs as its children."""
    if component == "api-server":
        return []
    if component == "scheduler":
        if not deployment.multi_team:
            return deployment.teams if deployment.local_executor else []
        return [t for t in deployment.teams if any("LocalExecutor" in e.names for e in deployment.executors_of(t))]
    if team is not None and component != "dag-processor":
        return [team]
    named = deployment.bundles if bundles is None else {b: deployment.bundles.get(b) for b in bundles}
    return sorted({t for t in named.values() if t})


@dataclass(frozen=True)
class _Scope:
    component: Component
    teams: list[str]
    deployment: Deployment
    processes: bool
    apps: str | None

    def finding(
        self,
        check: str,
        team: str | None,
        message: str,
        evidence: list[str],
        fix: str,
        *,
        severity: Severity = "error",
        remedy: Remedy = "configure",
    ) -> Finding:
        return Finding(
            check=check,
            component=self.component,
            team=team,
            severity=severity,
            message=message,
            evidence=evidence,
            fix=fix,
            remedy=remedy,
        )

    def for_each_team(
        self, check: str, message: str, evidence: list[str], fix: str, *, remedy: Remedy = "configure"
    ) -> Iterator[Finding]:
        """The same error for each team whose code runs here (``message`` names it as ``{team}``)."""
        for team in self.teams:
            yield self.finding(check, team, message.format(team=team), evidence, fix, remedy=remedy)

    @property
    def runs_team_code(self) -> bool:
        return bool(self.teams)

    @property
    def needs_metadata_db(self) -> bool:
        """The DAG processor and the triggerer need the metadata DB (and the Fernet key) in Airflow 3.3."""
        return self.component in ("dag-processor", "triggerer")


Check = Callable[[_Scope], Iterator[Finding]]


def _signing_key(scope: _Scope) -> Iterator[Finding]:
    if not scope.runs_team_code:
        return
    from airflow.configuration import conf

    places = sources.configured("api_auth", "jwt_secret") + sources.configured("api_auth", "jwt_private_key_path")
    if scope.component == "scheduler":
        # The LocalExecutor puts a signing secret in the configuration it hands its task processes, generating one
        # when none is set; with a private key instead, the key file is readable to the same Unix user.
        places = places or ["the LocalExecutor's task processes inherit the scheduler's [api_auth] configuration"]
    elif conf.get("api_auth", "jwt_secret", fallback="") and not places:
        places = ["[api_auth] jwt_secret, set in this process's configuration at run time"]
    if not places:
        return
    fix = (
        _PER_TEAM_WORKERS
        if scope.component == "scheduler"
        else (
            "remove [api_auth] jwt_secret and jwt_private_key_path from this component's configuration and "
            "environment: only the scheduler signs task tokens (a private key, jwt_private_key_path) and the API "
            "server verifies them (trusted_jwks_url or the public key)"
        )
    )
    yield from scope.for_each_team(
        "signing_key",
        f"{{team}}'s code in the {scope.component} can read a key that signs Execution API tokens, and mint one "
        "for another team's task instance",
        places,
        fix,
    )


def _held_option(
    scope: _Scope, check: str, section: str, key: str, what: str, fixes: dict[str, str]
) -> Iterator[Finding]:
    """An option that gives ``what`` to whoever reads it, configured where team code runs; ``fixes`` by kind of
    component: ``scheduler`` (its LocalExecutor tasks), ``needed`` (the DAG processor and the triggerer, which
    need it in Airflow 3.3) and ``worker``."""
    if not scope.runs_team_code:
        return
    places = sources.configured(section, key)
    if not places:
        return
    kind = "scheduler" if scope.component == "scheduler" else "needed" if scope.needs_metadata_db else "worker"
    yield from scope.for_each_team(
        check,
        f"{{team}}'s code in the {scope.component} can read {what}",
        places,
        fixes[kind].format(component=scope.component),
        remedy="accept" if kind == "needed" else "configure",
    )


def _metadata_db(scope: _Scope) -> Iterator[Finding]:
    yield from _held_option(
        scope,
        "metadata_db",
        "database",
        "sql_alchemy_conn",
        "the metadata DB's address and read or change every team's rows",
        {
            "scheduler": _PER_TEAM_WORKERS
            + " (Airflow blanks the address in the task's own configuration, not in its parents')",
            "needed": f"the {{component}} needs the metadata DB in Airflow 3.3: {_SEPARATE}",
            "worker": "remove [database] sql_alchemy_conn (and its _cmd / _secret) from the workers: tasks reach "
            "Airflow through the Execution API only",
        },
    )


def _fernet_key(scope: _Scope) -> Iterator[Finding]:
    yield from _held_option(
        scope,
        "fernet_key",
        "core",
        "fernet_key",
        "the Fernet key, which decrypts every team's connection passwords and Variables",
        {
            "scheduler": _PER_TEAM_WORKERS,
            "needed": f"the {{component}} decrypts the connections it serves in Airflow 3.3: {_SEPARATE}",
            "worker": "remove [core] fernet_key from this component: the API server decrypts what a task is served",
        },
    )


def _other_processes(scope: _Scope) -> Iterator[Finding]:
    if not (scope.processes and scope.runs_team_code):
        return
    found = sources.foreign_process_secrets()
    if not found:
        return
    yield from scope.for_each_team(
        "other_processes",
        f"{{team}}'s code in the {scope.component} can read the environment of {len(found)} other process(es) "
        "of this host holding deployment secrets (the same Unix user may read /proc/<pid>/environ)",
        [p.describe() for p in found],
        f"{_SEPARATE}; on one host, a Unix user per team and per component",
        remedy="isolate",
    )


def _command_line_secret(scope: _Scope) -> Iterator[Finding]:
    if not scope.processes:
        return
    found = sources.command_line_passwords()
    if found:
        yield scope.finding(
            "command_line_secret",
            None,
            "a password is on the command line of a process of this host, which every user of the host can read",
            found,
            "pass passwords in the environment or a file readable only by that process's user, not as arguments",
        )


def _policy_writable(scope: _Scope) -> Iterator[Finding]:
    if not (scope.processes and scope.runs_team_code):
        return
    from airflow_policies._config import settings

    configured = settings()
    root = configured.decision_path.split("/")[0]
    probe = sources.opa_writes(str(configured.opa_url), root)
    if probe.accepted is False or not probe.reached:
        return
    yield scope.finding(
        "policy_writable",
        None,
        f"the OPA at {configured.opa_url} accepts writes from the {scope.component}: team code here can rewrite "
        "the rules and the registry every enforcement point decides with"
        if probe.accepted
        else f"could not tell whether the OPA at {configured.opa_url} accepts writes from the {scope.component}",
        [probe.answer],
        "serve the policy to OPA as a bundle (airflow-policies bundle build; a bundle owns its roots and OPA refuses "
        "REST writes under them), or run OPA with --authentication=token --authorization=basic and a system.authz "
        "policy that allows no write from these hosts",
        severity="error" if probe.accepted else "warning",
    )


def _result_backend(scope: _Scope) -> Iterator[Finding]:
    if scope.component not in ("worker", "scheduler"):
        return
    from airflow.executors.base_executor import ExecutorConf

    celery_teams = [
        (e.team, ExecutorConf(team_name=e.team))
        for e in scope.deployment.executors
        if "CeleryExecutor" in e.names and (scope.component == "scheduler" or e.team in scope.teams)
    ]
    for team, team_conf in celery_teams:
        backend = team_conf.get("celery", "result_backend", fallback=None) or ""
        if backend and not backend.startswith("db+"):
            continue
        section = f"AIRFLOW__{team.upper()}___CELERY__RESULT_BACKEND" if team else "AIRFLOW__CELERY__RESULT_BACKEND"
        yield scope.finding(
            "result_backend",
            team,
            f"the CeleryExecutor of {team or 'the deployment (global)'} keeps results in a database"
            + ("" if backend else ", by default the metadata DB (db+ sql_alchemy_conn)")
            + ": its workers must then hold that database's address",
            [f"{section} = {'db+...' if backend else '(unset)'}"],
            "set [celery] result_backend of each team's executor to a store of its own, e.g. the team's Redis "
            f"(redis://...:<password>@host/1) in {section}",
        )


def _foreign_bundles(scope: _Scope) -> Iterator[Finding]:
    if scope.component not in ("worker", "triggerer", "dag-processor") or not scope.teams:
        return
    configured = scope.deployment.bundles
    for team in scope.teams:
        others = sorted(name for name, owner in configured.items() if owner and owner != team)
        if scope.component == "dag-processor":
            others = [name for name in others if configured[name] in scope.teams]
        if not others:
            continue
        fix = {
            "worker": "give the team's worker only its team's bundles in [dag_processor] dag_bundle_config_list, and "
            "start it with --team",
            "triggerer": "give the team's triggerer only its team's bundles, and start it with --team-name",
            "dag-processor": "run one DAG processor per team with --bundle-name for each of its bundles: a parse "
            "child is a fork of a manager that every team's files share",
        }[scope.component]
        yield scope.finding(
            "foreign_bundles",
            team,
            f"{team}'s code in the {scope.component} runs where other teams' bundles are configured",
            [f"[dag_processor] dag_bundle_config_list: {name} ({configured[name]})" for name in others],
            fix,
            remedy="isolate" if scope.component == "dag-processor" else "configure",
        )


def _foreign_secrets(scope: _Scope) -> Iterator[Finding]:
    if not scope.runs_team_code:
        return
    from airflow.configuration import conf

    shared = len(scope.teams) > 1 or scope.component == "scheduler"
    team_scoped = [n for n in os.environ if n.startswith(("AIRFLOW_CONN__", "AIRFLOW_VAR__")) and "___" in n]
    teamless = sorted(
        n
        for n in os.environ
        if n.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_")) and not n.startswith(("AIRFLOW_CONN__", "AIRFLOW_VAR__"))
    )
    for team in scope.teams:
        own = (f"AIRFLOW_CONN__{team.upper()}___", f"AIRFLOW_VAR__{team.upper()}___")
        foreign = sorted(name for name in team_scoped if not name.startswith(own))
        if foreign:
            yield scope.finding(
                "foreign_secrets",
                team,
                f"{team}'s code in the {scope.component} can read other teams' connections or Variables from its "
                "environment",
                foreign,
                "set a team's AIRFLOW_CONN__<TEAM>___<ID> / AIRFLOW_VAR__<TEAM>___<KEY> only in that team's processes",
            )
        if teamless and shared:
            yield scope.finding(
                "foreign_secrets",
                team,
                f"teamless connections or Variables in the {scope.component}'s environment are served to every "
                "team's code there",
                teamless,
                "name them per team (AIRFLOW_CONN__<TEAM>___<ID>) in that team's processes, or store them in the "
                "metadata DB with their team",
                severity="warning",
            )
    backend = conf.get("secrets", "backend", fallback="")
    if backend and shared:
        yield scope.finding(
            "foreign_secrets",
            None,
            f"one secrets backend ({backend}) serves the code of {', '.join(scope.teams)} in the {scope.component}: "
            "its credentials are the process's, so any team's code can call it for another team's secrets",
            ["[secrets] backend"],
            "give each team's processes a secrets backend whose credentials reach only that team's secrets, "
            f"and {_SEPARATE}",
        )


def _global_executor(scope: _Scope) -> Iterator[Finding]:
    deployment = scope.deployment
    if scope.component != "scheduler" or not deployment.multi_team:
        return
    shared = [min(e.names, key=len) for e in deployment.executors if e.team is None]
    for team in deployment.teams:
        if not any(e.team == team for e in deployment.executors):
            yield scope.finding(
                "global_executor",
                team,
                f"{team} has no executor of its own: its tasks run on the global executor(s), beside teamless DAGs' "
                "tasks (airflow-policies' executors.global_executor rejects them unless the registry lists the "
                "executor in global.executors)",
                [f"[core] executor: {', '.join(shared) or '(none)'} global, none for {team}"],
                f"give {team} its own executor in [core] executor ({team}=CeleryExecutor) with its own workers",
                severity="warning",
            )
    opened = sorted(
        name
        for name in deployment.opened_global_executors or ()
        if any(name in e.names for e in deployment.executors if e.team is None)
    )
    if opened:
        yield scope.finding(
            "global_executor",
            None,
            f"the registry opens the global executor(s) {', '.join(opened)} to every team: a team's task that names "
            "one runs there, beside teamless DAGs' and other teams' tasks",
            [f"registry global.executors: {', '.join(opened)}"],
            "take them out of global.executors, and give each team that needs one an executor of its own",
            severity="warning",
        )


def _guard_missing(scope: _Scope) -> Iterator[Finding]:
    if scope.component != "api-server":
        return
    apps = [a.strip() for a in (scope.apps or "all").split(",")]
    evidence = []
    if "execution_api" in scope.deployment.disabled_points:
        evidence.append("[airflow_policies] disabled_points holds execution_api")
    if scope.deployment.guard_installed is False:
        evidence.append("the API server's app holds no airflow-policies guard")
    elif "execution" in apps and "core" not in apps:  # "all" serves both, guard included
        evidence.append(f"--apps {','.join(apps)}: Airflow installs plugin middlewares with the core app only")
    if evidence:
        yield scope.finding(
            "guard_missing",
            None,
            "the Execution API is served without the airflow-policies guard: every team's tasks may read and "
            "write other teams' data through it",
            evidence,
            "run the API server with the core app (airflow api-server, or --apps all / core,execution) and "
            "execution_api enabled",
        )


def _policy_not_loaded(scope: _Scope) -> Iterator[Finding]:
    deployment = scope.deployment
    # The worker's re-parse is off by default (DAG code runs before it) and the API server's guard is a plugin
    # (guard_missing): only points switched on here need the policy loaded.
    points = [p for p in COMPONENT_POINTS[scope.component] if p != "execution_api"]
    evidence = []
    if not deployment.policy_loaded and any(p not in deployment.disabled_points for p in points):
        evidence.append("Airflow's policy plugin manager holds no airflow_policies dag_policy")
    off = [p for p in points if p in deployment.disabled_points and p != "worker"]
    evidence += [f"[airflow_policies] disabled_points holds {p}" for p in off]
    if evidence:
        yield scope.finding(
            "policy_not_loaded",
            None,
            f"the {scope.component} runs without the policy at its enforcement point(s)",
            evidence,
            "install airflow-policies in this component's environment (its entry points load it), and take its "
            "points out of disabled_points",
        )


def _multi_team_off(scope: _Scope) -> Iterator[Finding]:
    deployment = scope.deployment
    named = sorted(name for name, team in deployment.bundles.items() if team)
    if deployment.multi_team or not named:
        return
    yield scope.finding(
        "multi_team_off",
        None,
        "[core] multi_team is off while bundles name teams: Airflow then ignores every team boundary (team "
        "connections, Variables, pools and executors)",
        [f"[dag_processor] dag_bundle_config_list: {name} ({deployment.bundles[name]})" for name in named],
        "set [core] multi_team = True",
    )


_ALL_CHECKS: tuple[Check, ...] = (
    _multi_team_off,
    _policy_not_loaded,
    _guard_missing,
    _signing_key,
    _metadata_db,
    _fernet_key,
    _other_processes,
    _command_line_secret,
    _policy_writable,
    _result_backend,
    _foreign_bundles,
    _foreign_secrets,
    _global_executor,
)


def inspect(
    component: Component,
    deployment: Deployment,
    *,
    team: str | None = None,
    bundles: list[str] | None = None,
    processes: bool = True,
    apps: str | None = None,
) -> PostureReport:
    """Every finding for ``component`` as this process sees it (run it in the component's environment).

    Args:
        component: which Airflow component this environment is.
        deployment: Airflow's configuration here (:func:`read_deployment`).
        team: the team the component serves (``--team`` of a worker or triggerer).
        bundles: the bundles a DAG processor parses (``--bundle-name``); default all configured.
        processes: also read the other processes of this host (not when pointed at another environment).
        apps: the API server's ``--apps``.
    """
    scope = _Scope(component, teams_running_code(component, deployment, team, bundles), deployment, processes, apps)
    return PostureReport(
        component=component,
        teams=scope.teams,
        host=socket.getfqdn(),
        checked_at=datetime.datetime.now(datetime.timezone.utc),
        processes_inspected=processes,
        findings=[finding for check in _ALL_CHECKS for finding in check(scope)],
    )
