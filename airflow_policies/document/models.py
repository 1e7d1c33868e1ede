"""The input document: what OPA is told about one DAG.

These models are the contract between the Python side and the Rego rules; the JSON schema generated
from them is checked in at ``schemas/input-document.schema.json``. Bump :data:`SCHEMA_VERSION` on any
change that can alter what a rule sees.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "SCHEMA_VERSION",
    "AirflowInfo",
    "AssetAccess",
    "AssetReference",
    "BundleInfo",
    "Callback",
    "ConnectionReference",
    "DagInfo",
    "DagReference",
    "EnforcementPoint",
    "InputDocument",
    "KubernetesInfo",
    "PodObjectReference",
    "PodSettings",
    "TaskInfo",
    "TriggerReference",
    "VariableReference",
    "Watcher",
    "document_json",
]

SCHEMA_VERSION: Literal[1] = 1

#: Where a decision is made. Parse time (DAG code has run in the same process): ``dag_processor``,
#: ``worker``, ``cli``, ``check``. No DAG code runs at the others: ``dag_processor_manager`` (a parse result,
#: before the DB write), ``scheduler`` (a task instance being created), ``kubernetes_executor`` (the final pod
#: the KubernetesExecutor builds for a task instance, in its ``pod_mutation_hook``), ``execution_api`` (a call a running
#: task makes to the API server), ``triggerer`` (a call a trigger makes through its triggerer's in-process
#: Execution API), ``dag_processor_channel`` (a call DAG-file code or a DAG callback makes through the DAG
#: processor's) and ``audit`` (DAGs already in the metadata DB).
EnforcementPoint = Literal[
    "dag_processor",
    "worker",
    "cli",
    "check",
    "dag_processor_manager",
    "scheduler",
    "kubernetes_executor",
    "execution_api",
    "triggerer",
    "dag_processor_channel",
    "audit",
]
#: Where a reference was found. ``runtime`` and ``runtime_write`` come only from the run-time points
#: (``execution_api``, ``triggerer``, ``dag_processor_channel``): a read (or a deferring task's trigger kwargs),
#: and a write or delete, that running code asked for.
ReferenceSource = Literal["attribute", "template", "mapped_expand", "callback", "watcher", "runtime", "runtime_write"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConnectionReference(_Model):
    """One place a DAG names a connection."""

    conn_id: str | None = Field(description="The connection id; null when it cannot be known at parse time.")
    verifiable: bool = Field(description="False for Jinja templates, XComArgs and non-string values.")
    raw: str = Field(description="The value as written (a truncated repr for non-strings).")
    source: ReferenceSource
    location: str = Field(description="Attribute, templated field, callback or watcher holding the reference.")


class VariableReference(_Model):
    """One ``{{ var.value.<key> }}`` / ``{{ var.json.<key> }}`` in a templated field."""

    key: str | None
    verifiable: bool
    raw: str
    source: ReferenceSource
    location: str


class DagReference(_Model):
    """A task pointing at another DAG: a trigger target or an external sensor, or at run time a DAG run it
    triggers, clears, or whose state it reads; through an in-process channel also the DAG whose XComs it reads or
    writes, or whose task instance it acts on (Airflow's own checks of both are switched off there)."""

    dag_id: str | None
    kind: Literal["trigger", "external_sensor", "clear", "state", "xcom", "task_instance"]
    verifiable: bool
    raw: str
    location: str


class Watcher(_Model):
    """An asset watcher, the connections its trigger names and the callables it is told to import."""

    name: str
    trigger: str
    connections: list[ConnectionReference] = []
    callables: list[str] = Field(default=[], description="Dotted paths its trigger's kwargs name to import.")


class TriggerReference(_Model):
    """A trigger a task defers to (run-time points), and the callables its kwargs tell it to import."""

    classpath: str | None = Field(description="The trigger class; null when the deferral does not say.")
    callables: list[str] = Field(description="Dotted paths its kwargs name to import (``callback_path``, ...).")
    verifiable: bool = Field(description="False when its kwargs cannot be read (sent encrypted).")
    source: ReferenceSource
    location: str


class AssetAccess(_Model):
    """The author-declared ``AssetAccessControl`` of an asset."""

    producer_teams: list[str]
    consumer_teams: list[str] | None
    allow_global: bool


class AssetReference(_Model):
    """A leaf of a schedule condition, an inlet or an outlet; ``state_store`` (``execution_api`` only, listed with
    the outlets): the task reads or writes the asset's state store, which only the asset's owner may."""

    kind: Literal["asset", "alias", "name_ref", "uri_ref", "state_store", "unknown"]
    name: str | None = None
    uri: str | None = None
    group: str | None = None
    type: str = Field(description="Python type of the referenced object.")
    watchers: list[Watcher] = []
    access_control: AssetAccess | None = None


class Callback(_Model):
    """One callable or notifier attached to an ``on_*_callback``."""

    event: str
    kind: Literal["notifier", "function", "unknown"]
    type: str


class PodObjectReference(_Model):
    """A Secret or ConfigMap a pod reads, and how."""

    name: str
    via: Literal["volume", "projected_volume", "env", "env_from", "image_pull_secret", "operator_secret"]
    location: str = Field(description="Where the pod names it, e.g. spec.volumes[0] or containers[base].env[2].")


class PodSettings(_Model):
    """What one Kubernetes pod of a task asks for: where it runs, as whom, what it mounts and may touch.

    ``source``: ``executor_config`` is what a task's ``pod_override`` / ``pod_template_file`` asks of the
    KubernetesExecutor (the parse-time and scheduler points); ``operator`` is the pod a
    ``KubernetesPodOperator`` (or a subclass) launches, read from its arguments; ``executor_pod`` is the final
    pod the KubernetesExecutor creates, after its template, the ``pod_override`` and Airflow's own fields are
    merged (``kubernetes_executor`` point only). Null or empty means the pod does not set it.
    """

    source: Literal["executor_config", "operator", "executor_pod"]
    location: str = Field(description="Where the settings were read: the attribute, argument or object.")
    verifiable: bool = Field(description="False when some setting cannot be known here (Jinja, XComArg, odd type).")
    unverifiable: list[str] = Field(default=[], description="Each setting that cannot be known, with its raw value.")
    pod_template_file: str | None = None
    namespace: str | None = None
    service_account: str | None = None
    images: list[str] = []
    secrets: list[PodObjectReference] = []
    config_maps: list[PodObjectReference] = []
    host_network: bool = False
    host_pid: bool = False
    host_ipc: bool = False
    host_paths: list[str] = Field(default=[], description="Every hostPath volume's path.")
    privileged: bool = Field(default=False, description="Some container (or init container) is privileged.")
    allow_privilege_escalation: bool = False
    capabilities: list[str] = Field(default=[], description="Linux capabilities some container adds.")
    run_as_users: list[int] = Field(default=[], description="Every runAsUser of the pod and its containers.")
    node_selector: dict[str, str] = {}
    node_affinity: list[dict[str, Any]] = Field(
        default=[], description="Node affinity match expressions (required and preferred): key, operator, values."
    )
    tolerations: list[dict[str, Any]] = Field(default=[], description="key, operator, value, effect of each.")
    labels: dict[str, str] = {}


class TaskInfo(_Model):
    """Everything the rules may judge about one task."""

    task_id: str
    operator: str
    task_group: str | None
    is_mapped: bool
    is_setup: bool
    is_teardown: bool
    owner: str | None
    queue: str | None
    pool: str | None
    pool_slots: int | None
    executor: str | None
    run_as_user: str | None
    executor_config: Any = Field(description="JSON-safe copy; unknown objects become {'__unknown__': type}.")
    retries: int | None
    execution_timeout: float | None = Field(description="Seconds.")
    inlets: list[AssetReference]
    outlets: list[AssetReference]
    dag_refs: list[DagReference]
    connections: list[ConnectionReference]
    variables: list[VariableReference]
    callbacks: list[Callback]
    triggers: list[TriggerReference] = Field(default=[], description="Triggers it defers to (run time only).")
    pods: list[PodSettings] = Field(
        default=[], description="Kubernetes pods the task asks for: its executor_config, its operator's pod."
    )


class DagInfo(_Model):
    """DAG-level facts."""

    dag_id: str
    relative_fileloc: str | None
    owner: str | None
    tags: list[str]
    schedule_assets: list[AssetReference]
    callbacks: list[Callback]
    connections: list[ConnectionReference] = Field(
        description="Connections named by DAG callbacks and by watchers of schedule assets."
    )


class BundleInfo(_Model):
    """The DAG bundle the file was parsed from, and its team. Never author-controlled."""

    name: str | None
    team: str | None


class ExecutorInfo(_Model):
    """One executor of ``[core] executor``, as the scheduler loads it."""

    team: str | None = Field(description="The team it is configured for; null: global, any team's task may get it.")
    names: list[str] = Field(
        description="What a task's executor= may say to pick it, as the scheduler matches: alias, module path, class."
    )


class KubernetesInfo(_Model):
    """``[kubernetes_executor]`` of the deployment (global section): what a pod gets when it asks nothing."""

    namespace: str
    pod_template_file: str | None


class AirflowInfo(_Model):
    """Deployment facts from Airflow's configuration."""

    version: str
    default_queue: str
    default_pool: str
    executors: list[ExecutorInfo] = Field(
        default=[],
        description=(
            "The configured executors in the order the scheduler searches them (global ones first): a task gets the"
            " first that answers to its executor= and is its team's or global; with none named, its team's first,"
            " else the first global one."
        ),
    )
    kubernetes: KubernetesInfo | None = Field(
        default=None, description="Null when the cncf.kubernetes provider is not installed."
    )


class InputDocument(_Model):
    """The one document sent to OPA for one DAG."""

    schema_version: Literal[1] = SCHEMA_VERSION
    enforcement_point: EnforcementPoint
    airflow: AirflowInfo
    bundle: BundleInfo
    dag: DagInfo
    tasks: list[TaskInfo]


# The last document serialized and its JSON: the verdict measures and hashes the document and the OPA client
# sends it, so one serialization serves both (a 50-task document takes ~0.1 ms to serialize). One entry,
# replaced as a whole, so a reader sees a consistent pair even with threads.
_last_serialized: tuple[InputDocument, bytes] | None = None


def document_json(document: InputDocument) -> bytes:
    """The document as compact JSON, serialized once for every reader of the same document object."""
    global _last_serialized
    last = _last_serialized
    if last is not None and last[0] is document:
        return last[1]
    payload = document.model_dump_json().encode()
    _last_serialized = (document, payload)
    return payload
