"""The team registry (OPA data at ``data.airflow_policies.registry``): who owns what.

The format is documented in ``docs/registry.md``; :class:`Registry` validates it. ``airflow-policies sync``
fills the parts Airflow already knows (connections, variables, pools, executors) from Airflow itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from airflow_policies._files import read_yaml, validation_problems
from airflow_policies.exceptions import ConfigurationError

__all__ = ["OWNED_KINDS", "GlobalResources", "Registry", "Share", "TeamResources", "load_registry"]

#: The resource kinds a team or the global section owns by name.
OWNED_KINDS = ("connections", "variables", "pools", "queues", "executors")
OwnedKind = Literal["connections", "variables", "pools", "queues", "executors"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GlobalResources(_Model):
    """What every team may use."""

    connections: list[str] = []
    variables: list[str] = []
    pools: list[str] = []
    queues: list[str] = []
    executors: list[str] = []
    asset_prefixes: list[str] = []
    #: Trigger classes a task may defer to or a watcher may run: a classpath, or a module prefix ending in ".".
    triggers: list[str] = []
    #: Callables a trigger may be told to import (``CallbackTrigger``'s ``callback_path``): dotted paths or prefixes.
    trigger_callables: list[str] = []


class TeamResources(GlobalResources):
    """What one team owns, and where its defaults route."""

    dag_id_prefixes: list[str] = []
    default_queue: str | None = None
    default_pool: str | None = None


class Share(_Model):
    """What an owner lets other teams use."""

    owner: str
    with_: list[str] = Field(alias="with")
    connections: list[str] = []
    variables: list[str] = []
    asset_prefixes: list[str] = []
    dag_ids: list[str] = []

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Registry(_Model):
    """The whole registry."""

    teamless_bundles: Literal["reject", "allow"] = "reject"
    global_: GlobalResources = Field(default_factory=GlobalResources, alias="global")
    teams: dict[str, TeamResources] = {}
    shares: list[Share] = []

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def owners(self, kind: OwnedKind, name: str) -> set[str]:
        """Teams that own ``name`` (``"<global>"`` for the global section)."""
        owners = {team for team, resources in self.teams.items() if name in getattr(resources, kind)}
        if name in getattr(self.global_, kind):
            owners.add(GLOBAL)
        return owners

    def as_data(self) -> dict[str, object]:
        """The registry as OPA data (the documented YAML keys)."""
        return self.model_dump(mode="json", by_alias=True)


#: How the global section is named where an owner is expected.
GLOBAL = "<global>"


def load_registry(path: Path) -> Registry:
    """Read and validate a registry file (YAML or JSON).

    Raises:
        ConfigurationError: the file is missing, unreadable or malformed; the message names each problem.
    """
    loaded = read_yaml(path, "registry file") or {}
    try:
        return Registry.model_validate(loaded)
    except ValidationError as exc:
        raise ConfigurationError(f"registry file {path} is invalid: {validation_problems(exc)}") from None
