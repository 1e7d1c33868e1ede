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

__all__ = [
    "OWNED_KINDS",
    "GlobalResources",
    "KubernetesDeployment",
    "KubernetesResources",
    "Registry",
    "Share",
    "TeamKubernetes",
    "TeamResources",
    "load_registry",
]

#: The resource kinds a team or the global section owns by name.
OWNED_KINDS = ("connections", "variables", "pools", "queues", "executors")
OwnedKind = Literal["connections", "variables", "pools", "queues", "executors"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KubernetesResources(_Model):
    """Kubernetes objects a team (or every team) may use in its pods."""

    namespaces: list[str] = []
    service_accounts: list[str] = []
    #: Secrets and ConfigMaps by name (a pod can read them only from its own namespace).
    secrets: list[str] = []
    config_maps: list[str] = []
    #: Image prefixes, e.g. ``registry.example.com/team-a/``; an image must start with one.
    image_prefixes: list[str] = []
    #: Node pools: values of the registry's ``kubernetes.node_pool_label`` node label.
    node_pools: list[str] = []
    #: Pod template files on the scheduler's host a task's ``executor_config`` may name.
    pod_template_files: list[str] = []


class TeamKubernetes(KubernetesResources):
    """A team's Kubernetes objects, and what its pods get when they ask for none."""

    default_namespace: str | None = Field(default=None, min_length=1)
    default_service_account: str | None = Field(default=None, min_length=1)
    default_node_pool: str | None = Field(default=None, min_length=1)


class KubernetesDeployment(_Model):
    """How the deployment's cluster names things the rules need."""

    #: The node label whose value names a node pool (GKE: ``cloud.google.com/gke-nodepool``, EKS:
    #: ``eks.amazonaws.com/nodegroup``).
    node_pool_label: str = "airflow-policies/node-pool"
    #: The label every pod gets with its team as the value.
    team_label: str = "airflow-policies/team"


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
    kubernetes: KubernetesResources = Field(default_factory=KubernetesResources)


class TeamResources(GlobalResources):
    """What one team owns, and where its defaults route."""

    dag_id_prefixes: list[str] = []
    default_queue: str | None = None
    default_pool: str | None = None
    kubernetes: TeamKubernetes = Field(default_factory=TeamKubernetes)


class Share(_Model):
    """What an owner lets other teams use."""

    owner: str
    with_: list[str] = Field(alias="with")
    connections: list[str] = []
    variables: list[str] = []
    asset_prefixes: list[str] = []
    dag_ids: list[str] = []
    #: Kubernetes Secrets and ConfigMaps (by name) the owner lets the other teams' pods read.
    kubernetes_secrets: list[str] = []
    kubernetes_config_maps: list[str] = []

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Registry(_Model):
    """The whole registry."""

    teamless_bundles: Literal["reject", "allow"] = "reject"
    kubernetes: KubernetesDeployment = Field(default_factory=KubernetesDeployment)
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
