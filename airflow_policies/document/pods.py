"""Read the Kubernetes pods a task asks for into :class:`PodSettings`.

Three readers share one walk over pod-shaped values:

- a task's ``executor_config`` (``pod_override``, a ``V1Pod``; ``pod_template_file``), for the KubernetesExecutor;
- a ``KubernetesPodOperator`` (or subclass): its arguments, ``full_pod_spec`` and ``pod_template_dict``;
- the final ``V1Pod`` the KubernetesExecutor builds (``pod_mutation_hook``).

Pod-shaped values come as kubernetes-client objects (snake_case attributes), as the dicts their ``to_dict()``
makes (what a serialized DAG keeps of an operator's templated fields), or as Kubernetes API dicts (camelCase,
``pod_template_dict``): each field is looked up under both spellings. Nothing here imports the kubernetes
client, so a deployment without it pays nothing. A value that cannot be known (a Jinja template, an XComArg,
an object of another type) makes the pod unverifiable, which the rules reject.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Mapping
from typing import Any

from airflow_policies.document.models import PodObjectReference, PodSettings
from airflow_policies.document.safe import UNREADABLE, safe_getattr, safe_repr, type_name

__all__ = ["executor_pod", "is_pod_operator", "task_pods"]

#: The operator whose arguments describe a pod; subclasses are recognised by their class hierarchy (a live
#: task) or by the templated fields they inherit (a serialized task, whose class is only a name).
_POD_OPERATOR = "KubernetesPodOperator"
_POD_OPERATOR_FIELDS = frozenset({"image", "namespace", "pod_template_file", "pod_template_dict", "env_from"})


def is_pod_operator(task: object, template_fields: object) -> bool:
    """Whether ``task`` launches a pod of its own (a KubernetesPodOperator or a subclass)."""
    operator_class = safe_getattr(task, "operator_class")  # a mapped task stands for this class
    classes = getattr(operator_class if isinstance(operator_class, type) else type(task), "__mro__", ())
    if any(cls.__name__ == _POD_OPERATOR for cls in classes):
        return True
    return isinstance(template_fields, (list, tuple)) and set(template_fields) >= _POD_OPERATOR_FIELDS


class _OddValueError(Exception):
    """A pod-shaped value holds something that is neither a kubernetes-client object nor a dict."""

    def __init__(self, value: object) -> None:
        super().__init__(safe_repr(value))
        self.value = value


@functools.lru_cache(maxsize=256)
def _literal(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def _get(value: object, snake: str, camel: str | None = None) -> Any:  # noqa: ANN401 - whatever the pod holds
    if value is None or value is UNREADABLE:
        return None
    if isinstance(value, str) and value.startswith(("{'", '{"')):
        # A serialized mapped operator keeps a kubernetes object of its partial() arguments as the text of its
        # to_dict() (a Python literal): read back without evaluating anything.
        parsed = _literal(value)
        if not isinstance(parsed, Mapping):
            raise _OddValueError(value)
        value = parsed
    if isinstance(value, Mapping):
        found = value.get(snake)
        return value.get(camel) if found is None and camel else found
    if not type_name(value).startswith("kubernetes"):
        raise _OddValueError(value)
    return safe_getattr(value, snake)


def _items(value: object) -> list[Any]:
    if value is None or value is UNREADABLE:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


class _Reader:
    """Collects one pod's settings from the pieces that make it; the first value of a scalar wins (the
    operator's arguments are read before the pod spec they override)."""

    def __init__(self, source: str, location: str) -> None:
        self.source = source
        self.location = location
        self.scalars: dict[str, Any] = {}
        self.unverifiable: list[str] = []
        self.images: list[str] = []
        self.secrets: list[PodObjectReference] = []
        self.config_maps: list[PodObjectReference] = []
        self.host_paths: list[str] = []
        self.capabilities: list[str] = []
        self.run_as_users: list[int] = []
        self.node_selector: dict[str, str] = {}
        self.node_affinity: list[dict[str, Any]] = []
        self.tolerations: list[dict[str, Any]] = []
        self.labels: dict[str, str] = {}
        self.flags = {"host_network": False, "host_pid": False, "host_ipc": False, "privileged": False}
        self.flags["allow_privilege_escalation"] = False

    def _unknown(self, where: str, value: object) -> None:
        self.unverifiable.append(f"{where}: {safe_repr(value)}")

    def text(self, value: object, where: str) -> str | None:
        """A string setting, or None; a template or another type makes the pod unverifiable."""
        if value is None:
            return None
        if not isinstance(value, str) or "{{" in value or "{%" in value:
            self._unknown(where, value)
            return None
        return value

    def scalar(self, name: str, value: object, where: str) -> None:
        text = self.text(value, where)
        if text is not None:
            self.scalars.setdefault(name, text)

    def flag(self, name: str, value: object, where: str) -> None:
        if value is True:
            self.flags[name] = True
        elif value not in (None, False):
            self._unknown(where, value)

    def mapping(self, target: dict[str, str], value: object, where: str) -> None:
        if value is None:
            return
        if not isinstance(value, Mapping):
            self._unknown(where, value)
            return
        for key, item in value.items():
            text = self.text(item, f"{where}[{key}]")
            if isinstance(key, str) and text is not None:
                target.setdefault(key, text)

    def reference(self, kind: str, name: object, via: str, where: str) -> None:
        text = self.text(name, where)
        if text is not None:
            target = self.secrets if kind == "secret" else self.config_maps
            target.append(PodObjectReference(name=text, via=via, location=where))

    def security_context(self, context: object, where: str) -> None:
        if context is None:
            return
        user = _get(context, "run_as_user", "runAsUser")
        if isinstance(user, int) and not isinstance(user, bool):
            self.run_as_users.append(user)
        elif user is not None:
            self._unknown(f"{where}.run_as_user", user)
        self.flag("privileged", _get(context, "privileged"), f"{where}.privileged")
        self.flag(
            "allow_privilege_escalation",
            _get(context, "allow_privilege_escalation", "allowPrivilegeEscalation"),
            f"{where}.allow_privilege_escalation",
        )
        for capability in _items(_get(_get(context, "capabilities"), "add")):
            text = self.text(capability, f"{where}.capabilities.add")
            if text is not None:
                self.capabilities.append(text)

    def env(self, variables: object, where: str) -> None:
        if isinstance(variables, Mapping):  # the operator's {name: value}: plain values, no references
            for name, value in variables.items():
                self.text(value, f"{where}[{name}]")
            return
        for index, variable in enumerate(_items(variables)):
            source = _get(variable, "value_from", "valueFrom")
            here = f"{where}[{index}]"
            self.text(_get(variable, "value"), here)
            self.reference("secret", _get(_get(source, "secret_key_ref", "secretKeyRef"), "name"), "env", here)
            self.reference(
                "config_map", _get(_get(source, "config_map_key_ref", "configMapKeyRef"), "name"), "env", here
            )

    def env_from(self, sources: object, where: str) -> None:
        for index, source in enumerate(_items(sources)):
            here = f"{where}[{index}]"
            self.reference("secret", _get(_get(source, "secret_ref", "secretRef"), "name"), "env_from", here)
            self.reference("config_map", _get(_get(source, "config_map_ref", "configMapRef"), "name"), "env_from", here)

    def container(self, container: object, where: str) -> None:
        image = self.text(_get(container, "image"), f"{where}.image")
        if image is not None:
            self.images.append(image)
        self.env(_get(container, "env"), f"{where}.env")
        self.env_from(_get(container, "env_from", "envFrom"), f"{where}.env_from")
        self.security_context(_get(container, "security_context", "securityContext"), f"{where}.security_context")

    def volumes(self, volumes: object, where: str) -> None:
        for index, volume in enumerate(_items(volumes)):
            here = f"{where}[{index}]"
            self.reference("secret", _get(_get(volume, "secret"), "secret_name", "secretName"), "volume", here)
            self.reference("config_map", _get(_get(volume, "config_map", "configMap"), "name"), "volume", here)
            host_path = _get(volume, "host_path", "hostPath")
            if host_path is not None:
                self.host_paths.append(self.text(_get(host_path, "path"), f"{here}.host_path") or "<unknown>")
            for source in _items(_get(_get(volume, "projected"), "sources")):
                self.reference("secret", _get(_get(source, "secret"), "name"), "projected_volume", here)
                self.reference(
                    "config_map", _get(_get(source, "config_map", "configMap"), "name"), "projected_volume", here
                )

    def affinity(self, affinity: object, where: str) -> None:
        node = _get(affinity, "node_affinity", "nodeAffinity")
        required = _get(
            node,
            "required_during_scheduling_ignored_during_execution",
            "requiredDuringSchedulingIgnoredDuringExecution",
        )
        terms = list(_items(_get(required, "node_selector_terms", "nodeSelectorTerms")))
        preferred = _get(
            node,
            "preferred_during_scheduling_ignored_during_execution",
            "preferredDuringSchedulingIgnoredDuringExecution",
        )
        terms += [_get(p, "preference") for p in _items(preferred)]
        for term in terms:
            for expression in _items(_get(term, "match_expressions", "matchExpressions")):
                values = [self.text(v, f"{where}.node_affinity") for v in _items(_get(expression, "values"))]
                self.node_affinity.append(
                    {
                        "key": self.text(_get(expression, "key"), f"{where}.node_affinity"),
                        "operator": self.text(_get(expression, "operator"), f"{where}.node_affinity"),
                        "values": [v for v in values if v is not None],
                    }
                )

    def tolerations_of(self, tolerations: object, where: str) -> None:
        for index, toleration in enumerate(_items(tolerations)):
            here = f"{where}[{index}]"
            self.tolerations.append(
                {
                    key: self.text(_get(toleration, key), f"{here}.{key}")
                    for key in ("key", "operator", "value", "effect")
                }
            )

    def pod(self, pod: object, where: str) -> None:
        """A whole pod: a V1Pod, its ``to_dict()`` or a Kubernetes API dict."""
        try:
            self._pod(pod, where)
        except _OddValueError as odd:
            self._unknown(where, odd.value)

    def _pod(self, pod: object, where: str) -> None:
        if pod is None:
            return
        if not (isinstance(pod, Mapping) or type_name(pod).startswith("kubernetes")):
            raise _OddValueError(pod)
        metadata = _get(pod, "metadata")
        spec = _get(pod, "spec")
        self.scalar("namespace", _get(metadata, "namespace"), f"{where}.metadata.namespace")
        self.mapping(self.labels, _get(metadata, "labels"), f"{where}.metadata.labels")
        self.scalar(
            "service_account",
            _get(spec, "service_account_name", "serviceAccountName") or _get(spec, "service_account", "serviceAccount"),
            f"{where}.spec.service_account_name",
        )
        for flag, camel in (("host_network", "hostNetwork"), ("host_pid", "hostPID"), ("host_ipc", "hostIPC")):
            self.flag(flag, _get(spec, flag, camel), f"{where}.spec.{flag}")
        self.security_context(_get(spec, "security_context", "securityContext"), f"{where}.spec.security_context")
        containers: tuple[tuple[str, str | None], ...] = (
            ("containers", None),
            ("init_containers", "initContainers"),
            ("ephemeral_containers", "ephemeralContainers"),
        )
        for kind, camel_kind in containers:
            for index, container in enumerate(_items(_get(spec, kind, camel_kind))):
                self.container(container, f"{where}.spec.{kind}[{index}]")
        self.volumes(_get(spec, "volumes"), f"{where}.spec.volumes")
        for index, secret in enumerate(_items(_get(spec, "image_pull_secrets", "imagePullSecrets"))):
            here = f"{where}.spec.image_pull_secrets[{index}]"
            self.reference("secret", _get(secret, "name"), "image_pull_secret", here)
        self.mapping(self.node_selector, _get(spec, "node_selector", "nodeSelector"), f"{where}.spec.node_selector")
        self.affinity(_get(spec, "affinity"), f"{where}.spec.affinity")
        self.tolerations_of(_get(spec, "tolerations"), f"{where}.spec.tolerations")

    def settings(self) -> PodSettings:
        return PodSettings(
            source=self.source,
            location=self.location,
            verifiable=not self.unverifiable,
            unverifiable=self.unverifiable,
            pod_template_file=self.scalars.get("pod_template_file"),
            namespace=self.scalars.get("namespace"),
            service_account=self.scalars.get("service_account"),
            images=self.images,
            secrets=self.secrets,
            config_maps=self.config_maps,
            host_paths=self.host_paths,
            capabilities=self.capabilities,
            run_as_users=self.run_as_users,
            node_selector=self.node_selector,
            node_affinity=self.node_affinity,
            tolerations=self.tolerations,
            labels=self.labels,
            **self.flags,
        )


def _executor_config_pod(executor_config: object) -> PodSettings | None:
    if not isinstance(executor_config, Mapping):
        return None
    override = executor_config.get("pod_override")
    template = executor_config.get("pod_template_file")
    if override is None and template is None:
        return None
    location = "executor_config.pod_override" if override is not None else "executor_config.pod_template_file"
    reader = _Reader("executor_config", location)
    reader.scalar("pod_template_file", template, "executor_config.pod_template_file")
    reader.pod(override, "executor_config.pod_override")
    return reader.settings()


#: The operator arguments that shape its pod: a mapped task that expands one of them launches one pod per value.
_POD_ARGUMENTS = frozenset({
    "namespace", "service_account_name", "pod_template_file", "labels", "node_selector", "image", "env_vars",
    "env_from", "configmaps", "secrets", "image_pull_secrets", "volumes", "hostnetwork", "security_context",
    "container_security_context", "affinity", "tolerations", "init_containers", "full_pod_spec", "pod_template_dict",
})  # fmt: skip


#: The provider's ``Secret`` as a serialized mapped operator keeps it: its repr (``Secret(type, target, name, key)``;
#: a Kubernetes name has no comma, a target may).
_SECRET_REPR = re.compile(r"^Secret\((?P<deploy_type>\w+), .*, (?P<name>[^,]*), [^,]*\)$", re.DOTALL)


def _operator_secret(secret: object) -> tuple[object, object]:
    """(deploy type, Secret name) of a KubernetesPodOperator ``secrets`` entry: the provider's Secret object, its
    serialized repr, or a dict."""
    if isinstance(secret, Mapping):
        return secret.get("deploy_type"), secret.get("secret")
    if isinstance(secret, str):
        found = _SECRET_REPR.match(secret)
        return (found["deploy_type"], found["name"]) if found else (None, secret)
    return safe_getattr(secret, "deploy_type"), safe_getattr(secret, "secret")


def _operator_pod(operator: str, arguments: Mapping[str, Any]) -> PodSettings:
    """The pod an operator launches, from its arguments (as the operator holds them, or as given to it)."""
    reader = _Reader("operator", operator)
    try:
        _read_operator_arguments(reader, arguments)
    except _OddValueError as odd:
        reader.unverifiable.append(f"arguments: {safe_repr(odd.value)}")
    return reader.settings()


def _read_operator_arguments(reader: _Reader, arguments: Mapping[str, Any]) -> None:
    reader.scalar("namespace", arguments.get("namespace"), "namespace")
    reader.scalar("service_account", arguments.get("service_account_name"), "service_account_name")
    reader.scalar("pod_template_file", arguments.get("pod_template_file"), "pod_template_file")
    reader.mapping(reader.labels, arguments.get("labels"), "labels")
    reader.mapping(reader.node_selector, arguments.get("node_selector"), "node_selector")
    image = reader.text(arguments.get("image"), "image")
    if image is not None:
        reader.images.append(image)
    reader.env(arguments.get("env_vars"), "env_vars")
    reader.env_from(arguments.get("env_from"), "env_from")
    for index, name in enumerate(_items(arguments.get("configmaps"))):
        reader.reference("config_map", name, "env_from", f"configmaps[{index}]")
    for index, secret in enumerate(_items(arguments.get("secrets"))):
        deploy_type, name = _operator_secret(secret)
        via = "volume" if deploy_type == "volume" else "operator_secret"
        reader.reference("secret", name, via, f"secrets[{index}]")
    for index, secret in enumerate(_items(arguments.get("image_pull_secrets"))):
        reader.reference("secret", _get(secret, "name"), "image_pull_secret", f"image_pull_secrets[{index}]")
    reader.volumes(arguments.get("volumes"), "volumes")
    reader.flag("host_network", arguments.get("hostnetwork"), "hostnetwork")
    # The operator holds {} for "no security context / affinity".
    reader.security_context(arguments.get("security_context") or None, "security_context")
    reader.security_context(arguments.get("container_security_context"), "container_security_context")
    reader.affinity(arguments.get("affinity") or None, "affinity")
    reader.tolerations_of(arguments.get("tolerations"), "tolerations")
    for index, container in enumerate(_items(arguments.get("init_containers"))):
        reader.container(container, f"init_containers[{index}]")
    reader.pod(arguments.get("full_pod_spec"), "full_pod_spec")
    reader.pod(arguments.get("pod_template_dict"), "pod_template_dict")


def _unverifiable(pod: PodSettings, what: str) -> PodSettings:
    return pod.model_copy(update={"verifiable": False, "unverifiable": [*pod.unverifiable, what]})


def _mapped_operator_pods(operator: str, partial: Mapping[str, Any], expand: Mapping[str, Any]) -> list[PodSettings]:
    """A mapped operator's pods: one per mapped value of each expanded pod argument."""
    if "__expand_kwargs__" in expand:
        kwargs_list = expand["__expand_kwargs__"]
        if isinstance(kwargs_list, (list, tuple)) and all(isinstance(k, Mapping) for k in kwargs_list):
            return [_operator_pod(operator, {**partial, **kwargs}) for kwargs in kwargs_list]
        return [_unverifiable(_operator_pod(operator, partial), f"expand_kwargs: {safe_repr(kwargs_list)}")]
    expanded = {name: values for name, values in expand.items() if name in _POD_ARGUMENTS}
    if not expanded:
        return [_operator_pod(operator, partial)]
    pods: list[PodSettings] = []
    for name, values in expanded.items():
        if isinstance(values, (list, tuple)):
            pods += [_operator_pod(operator, {**partial, name: value}) for value in values]
        else:
            pods.append(_unverifiable(_operator_pod(operator, partial), f"{name} (mapped): {safe_repr(values)}"))
    return pods


def task_pods(
    operator: str,
    pod_operator: bool,
    executor_config: object,
    attributes: Mapping[str, Any],
    expand: Mapping[str, Any],
) -> list[PodSettings]:
    """Every pod a task asks for: its executor_config's, and its operator's."""
    pods = [pod] if (pod := _executor_config_pod(executor_config)) is not None else []
    if not pod_operator:
        return pods
    if expand:
        return [*pods, *_mapped_operator_pods(operator, attributes, expand)]
    return [*pods, _operator_pod(operator, attributes)]


def executor_pod(pod: object) -> PodSettings:
    """The final pod the KubernetesExecutor creates (what ``pod_mutation_hook`` receives)."""
    reader = _Reader("executor_pod", "pod")
    reader.pod(pod, "pod")
    return reader.settings()
