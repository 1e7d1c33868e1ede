"""``airflow-policies sync``: take ownership from Airflow itself and merge it into the registry.

Airflow 3.3 already records who owns connections, variables and pools (their ``team_name``) and which
executors each team has (``[core] executor``). Re-typing that into the registry guarantees drift, so
``sync`` reads it through Airflow's own models, from whichever metadata DB Airflow is configured with, and
merges it with the hand-written registry (queues, asset prefixes, dag_id prefixes, defaults, shares).

Merge rules, per connection / variable / pool:

- Airflow gives it to team T and the registry says nothing: it becomes T's.
- Airflow gives it to T and the registry gives it to T: nothing to do.
- Airflow gives it to T and the registry gives it to another team or to everyone: a **conflict**. Sync
  fails and writes nothing; it never picks a side.
- Airflow has it without a team (any team may use it) and the registry says nothing: it becomes global.
- Airflow has it without a team and the registry gives it to a team: the registry's narrower rule stays
  (reported as a note). This is how a shared, teamless connection is kept to its real owner.

Executors are added to the teams Airflow configures them for; they never conflict, as several teams may run
the same executor class. A global executor is only reported: Airflow lets every team's task name it (and gives
it a team's task that names a class both have), so which teams may run on it is the registry's decision,
written into ``global.executors`` by hand.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from airflow_policies.policy.registry import GLOBAL, Registry, TeamResources

__all__ = [
    "AirflowOwnership",
    "Conflict",
    "KubernetesExecutorConfig",
    "SyncResult",
    "merge",
    "read_airflow_ownership",
    "registry_diff",
]

SyncedKind = Literal["connections", "variables", "pools"]
_SYNCED_KINDS: tuple[SyncedKind, ...] = ("connections", "variables", "pools")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KubernetesExecutorConfig(_Model):
    """What one KubernetesExecutor's ``[kubernetes_executor]`` configuration says its pods get."""

    namespace: str
    pod_template_file: str | None = None
    image_repository: str | None = None


class AirflowOwnership(_Model):
    """What Airflow's metadata DB and configuration say each team owns (``None``: no team, everyone)."""

    connections: dict[str, str | None] = {}
    variables: dict[str, str | None] = {}
    pools: dict[str, str | None] = {}
    executors: dict[str, list[str]] = {}
    """Team (``""`` for executors every team may use) -> the names tasks use for its executors."""
    bundles: dict[str, str | None] = {}
    kubernetes: dict[str, KubernetesExecutorConfig] = {}
    """Team (``""``: the global KubernetesExecutor) -> its KubernetesExecutor's configuration."""


class Conflict(_Model):
    """Airflow and the registry disagree about who owns a resource."""

    kind: SyncedKind
    name: str
    airflow_team: str
    registry_owners: list[str]

    @property
    def message(self) -> str:
        """One line saying who claims what, and how to resolve it."""
        owners = ", ".join("everyone (global)" if o == GLOBAL else f"team '{o}'" for o in self.registry_owners)
        return (
            f"{self.kind[:-1]} '{self.name}': Airflow gives it to team '{self.airflow_team}', the registry to "
            f"{owners}; fix the registry, or the resource's team_name in Airflow"
        )


class SyncResult(_Model):
    """The merged registry, what changed, and what could not be merged."""

    registry: Registry
    added: list[str]
    notes: list[str]
    conflicts: list[Conflict]


def read_airflow_ownership() -> AirflowOwnership:
    """Read ownership through Airflow's models and configuration (run in Airflow's environment)."""
    from airflow.configuration import conf
    from airflow.models.connection import Connection
    from airflow.models.dagbundle import DagBundleModel
    from airflow.models.pool import Pool
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from airflow_policies.document.builder import configured_executors

    executors: dict[str, list[str]] = {}
    kubernetes: dict[str, KubernetesExecutorConfig] = {}
    for executor in configured_executors():
        team = executors.setdefault(executor.team or "", [])
        # The alias and the class name, as tasks write them; not the module path.
        team.extend(n for n in executor.names if "." not in n and n not in team)
        if "KubernetesExecutor" in executor.names:
            kubernetes[executor.team or ""] = _kubernetes_executor_config(conf, executor.team)
    with create_session() as session:
        connections = dict(session.execute(select(Connection.conn_id, Connection.team_name)).all())
        variables = dict(session.execute(select(Variable.key, Variable.team_name)).all())
        pools = dict(session.execute(select(Pool.pool, Pool.team_name)).all())
        bundle_names = list(session.scalars(select(DagBundleModel.name)))
        teams = DagBundleModel.get_team_names(bundle_names, session=session) if bundle_names else {}
    if not conf.getboolean("core", "multi_team", fallback=False):
        teams = {}
    return AirflowOwnership(
        connections=connections,
        variables=variables,
        pools=pools,
        executors=executors,
        bundles={name: teams.get(name) for name in bundle_names},
        kubernetes=kubernetes,
    )


def _kubernetes_executor_config(conf: Any, team: str | None) -> KubernetesExecutorConfig:  # noqa: ANN401 - Airflow's conf
    """A KubernetesExecutor's settings as it reads them: a team's own (``[<team>=kubernetes_executor]``), else
    the global section."""

    def option(key: str) -> str | None:
        value = conf.get("kubernetes_executor", key, fallback=None, **({"team_name": team} if team else {}))
        return value or None

    return KubernetesExecutorConfig(
        namespace=option("namespace") or "default",
        pod_template_file=option("pod_template_file"),
        image_repository=option("worker_container_repository"),
    )


def merge(registry: Registry, airflow: AirflowOwnership) -> SyncResult:
    """The registry with Airflow's ownership merged in (see the module's rules)."""
    merged = registry.model_copy(deep=True)
    added: list[str] = []
    notes: list[str] = []
    conflicts: list[Conflict] = []
    for kind in _SYNCED_KINDS:
        for name, airflow_team in sorted(getattr(airflow, kind).items()):
            owners = registry.owners(kind, name)
            if airflow_team is None:
                if not owners:
                    getattr(merged.global_, kind).append(name)
                    added.append(f"global.{kind}: {name}")
                elif owners != {GLOBAL}:
                    teams = ", ".join(sorted(owners - {GLOBAL}))
                    notes.append(f"{kind[:-1]} '{name}' has no team in Airflow; the registry keeps it to {teams}")
            elif not owners:
                _team(merged, airflow_team, added)
                getattr(merged.teams[airflow_team], kind).append(name)
                added.append(f"teams.{airflow_team}.{kind}: {name}")
            elif owners != {airflow_team}:
                conflicts.append(
                    Conflict(kind=kind, name=name, airflow_team=airflow_team, registry_owners=sorted(owners))
                )
    for team, names in sorted(airflow.executors.items()):
        if team == "":
            notes.extend(
                f"global executor '{name}': no team's task may run on it until the registry lists it in "
                "global.executors (Airflow gives it to any team's task that names it)"
                for name in names
                if name not in registry.global_.executors
            )
            continue
        target = _team(merged, team, added)
        for name in names:
            if name not in target.executors:
                target.executors.append(name)
                added.append(f"teams.{team}.executors: {name}")
    for team in sorted({t for t in airflow.bundles.values() if t}):
        _team(merged, team, added)
    for team, executor in sorted(airflow.kubernetes.items()):
        _merge_kubernetes(merged, team, executor, added)
    return SyncResult(registry=merged, added=added, notes=notes, conflicts=conflicts)


def _merge_kubernetes(registry: Registry, team: str, executor: KubernetesExecutorConfig, added: list[str]) -> None:
    """A KubernetesExecutor's namespace, pod template and worker image: its team's (the namespace also its team's
    default), or every team's for the global executor."""
    target = _team(registry, team, added).kubernetes if team else registry.global_.kubernetes
    where = f"teams.{team}.kubernetes" if team else "global.kubernetes"
    wanted = {
        "namespaces": executor.namespace,
        "pod_template_files": executor.pod_template_file,
        "image_prefixes": f"{executor.image_repository}:" if executor.image_repository else None,
    }
    for kind, value in wanted.items():
        if value is not None and value not in getattr(target, kind):
            getattr(target, kind).append(value)
            added.append(f"{where}.{kind}: {value}")
    if team and registry.teams[team].kubernetes.default_namespace is None:
        registry.teams[team].kubernetes.default_namespace = executor.namespace
        added.append(f"{where}.default_namespace: {executor.namespace}")


def _team(registry: Registry, team: str, added: list[str]) -> TeamResources:
    if team not in registry.teams:
        registry.teams[team] = TeamResources()
        added.append(f"teams.{team} (a team Airflow knows; give it dag_id_prefixes and asset_prefixes)")
    return registry.teams[team]


def _entries(data: object, path: str = "") -> Iterable[str]:
    """One ``path: value`` line per scalar, and per item of a list of scalars (lists of objects by index)."""
    if isinstance(data, dict):
        for key, value in sorted(data.items()):
            yield from _entries(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list) and all(isinstance(v, (str, int, float, bool)) or v is None for v in data):
        for value in data:
            yield f"{path}: {json.dumps(value)}"
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _entries(value, f"{path}[{index}]")
    else:
        yield f"{path}: {json.dumps(data)}"


def registry_diff(current: object, wanted: Registry) -> list[str]:
    """``+``/``-`` lines from the registry OPA holds (``current`` data, or ``None``) to ``wanted``."""
    before = set(_entries(current or {}))
    after = set(_entries(wanted.as_data()))
    return [f"- {entry}" for entry in sorted(before - after)] + [f"+ {entry}" for entry in sorted(after - before)]
