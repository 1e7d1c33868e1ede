"""Configuration: the only global state of airflow-policies.

Settings live in Airflow's own configuration, section ``[airflow_policies]``: ``airflow.cfg``,
``AIRFLOW__AIRFLOW_POLICIES__<NAME>``, and for the sensitive ``opa_token`` the ``_cmd`` / ``_secret`` forms,
resolved by Airflow's parser exactly as for its own options. The options are declared to Airflow through the
``apache_airflow_provider`` entry point (:mod:`airflow_policies.provider_info`), so ``airflow config list``
and ``airflow config get-value airflow_policies <name>`` show them.

Deprecated, until 0.3.0: ``AIRFLOW_POLICIES_<NAME>`` variables and a YAML file (``AIRFLOW_POLICIES_CONFIG``
or ``--config``) still work, each with a warning naming the option that replaces it; one option set both
ways to different values is an error. Settings are validated once, when first needed, and an invalid value
fails loudly naming the option and where it came from.
"""

from __future__ import annotations

import configparser
import json
import os
import tempfile
import warnings
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError

from airflow_policies._files import read_yaml
from airflow_policies.document.models import EnforcementPoint
from airflow_policies.exceptions import ConfigurationError

__all__ = [
    "DEPRECATED_ENV_PREFIX",
    "MAX_INPUT_BYTES",
    "SECTION",
    "FailureMode",
    "Settings",
    "airflow_env_name",
    "load_settings",
    "settings",
]

#: Default bound on one input document: a DAG of 10,000 plain tasks is about 4 MB.
MAX_INPUT_BYTES = 8 * 1024 * 1024

#: What happens to a DAG when no trustworthy decision can be had: rejected (closed) or admitted (open).
FailureMode = Literal["closed", "open"]

#: The section of Airflow's configuration that holds every setting.
SECTION = "airflow_policies"
#: Deprecated: the variables of the first releases (``AIRFLOW_POLICIES_<NAME>``), read until 0.3.0.
DEPRECATED_ENV_PREFIX = "AIRFLOW_POLICIES_"
_DEPRECATED_FILE_ENV = f"{DEPRECATED_ENV_PREFIX}CONFIG"
_REMOVED_IN = "0.3.0"


class Settings(BaseModel):
    """Everything a deployment configures."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    opa_url: HttpUrl = Field(
        default=HttpUrl("http://127.0.0.1:8181"),
        description="Base URL of the OPA server (no path).",
        examples=["http://127.0.0.1:8181"],
    )
    opa_token: str | None = Field(
        default=None,
        description="Bearer token for OPA, if it requires one (also as opa_token_cmd / opa_token_secret).",
        examples=["s3cr3t"],
        json_schema_extra={"sensitive": True},
    )
    decision_path: str = Field(
        default="airflow_policies/main/decision",
        pattern=r"^[A-Za-z0-9_]+(/[A-Za-z0-9_]+)*$",
        description="Data path of the decision entrypoint.",
        examples=["airflow_policies/main/decision"],
    )
    connect_timeout_seconds: float = Field(
        default=0.5, gt=0, le=30, description="Time allowed to open the connection to OPA.", examples=[0.5]
    )
    read_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="Time allowed between bytes of OPA's answer once connected.",
        examples=[2.0],
    )
    failure_mode: dict[EnforcementPoint, FailureMode] = Field(
        default_factory=dict,
        description="Per enforcement point, what happens when OPA cannot decide; unlisted points fail closed.",
        examples=[{"worker": "open"}],
    )
    disabled_points: frozenset[EnforcementPoint] = Field(
        default=frozenset({"worker"}),
        description="Enforcement points that decide nothing (every DAG, task instance or read passes them). "
        "The worker's re-parse at task start is off by default: DAG code runs before it, so it is no boundary, "
        "and the scheduler and the Execution API decide the same DAG where no DAG code runs; [] turns it on.",
        examples=[["worker", "execution_api"]],
    )
    decision_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="How long the scheduler and the Execution API reuse a decision on an unchanged task or read, "
        "and how often the DAG-processor manager probes OPA's policy revision (its verdict on an unchanged DAG is "
        "reused until the DAG, the policy revision or its data change); 0 asks OPA every time.",
        examples=[60.0],
    )
    quarantine_pool: str = Field(
        default="airflow_policies_quarantine",
        min_length=1,
        max_length=256,
        description="Pool (0 slots) the scheduler re-check moves a rejected task instance to.",
        examples=["airflow_policies_quarantine"],
    )
    breaker_reset_seconds: float = Field(
        default=30.0,
        ge=1,
        le=3600,
        description="How long to fail fast after OPA was unreachable, before a probe.",
        examples=[30.0],
    )
    state_dir: Path = Field(
        default_factory=lambda: Path(tempfile.gettempdir()) / f"airflow-policies-{os.getuid()}",
        description="Directory of the circuit breaker's state, shared by a host's processes where DAG code runs.",
        examples=["/var/lib/airflow-policies"],
    )
    max_input_bytes: int = Field(
        default=MAX_INPUT_BYTES,
        ge=64 * 1024,
        le=256 * 1024 * 1024,
        description="Largest input document sent to OPA; a larger DAG is undecidable (see failure_mode).",
        examples=[8388608],
    )
    decision_log: str = Field(
        default="stderr",
        min_length=1,
        description="Where decision-log lines go: stderr, none, or a file path.",
        examples=["/var/log/airflow/airflow-policies-decisions.jsonl"],
    )
    bundle_teams: dict[str, str] = Field(
        default_factory=dict,
        description="bundle name -> team, used only when Airflow's [core] multi_team is off.",
        examples=[{"team_a_dags": "team_a"}],
    )
    registry: Path | None = Field(
        default=None,
        description="Team registry file for the OPA this tool starts itself (check, demo).",
        examples=["/etc/airflow/registry.yaml"],
    )
    rollout: Path | None = Field(
        default=None,
        description="Rollout file (action overrides, exceptions) for the OPA this tool starts itself.",
        examples=["/etc/airflow/rollout.yaml"],
    )
    team_rules: Path | None = Field(
        default=None,
        description="Directory of team layers (<team>/*.rego) for the OPA this tool starts itself.",
        examples=["/etc/airflow/team_rules"],
    )
    engine: Literal["server", "wasm"] = Field(
        default="server",
        description="Where parse-time decisions (dag_processor, worker, cli) are evaluated: the OPA server, or in "
        "process from wasm_bundle; the server-side enforcement points always ask the OPA server.",
        examples=["wasm"],
    )
    wasm_bundle: Path | None = Field(
        default=None,
        description="The rules and data as an OPA Wasm bundle (bundle build --target wasm), for engine wasm.",
        examples=["/etc/airflow/airflow-policies-wasm.tar.gz"],
    )

    def enabled(self, point: EnforcementPoint) -> bool:
        """Whether ``point`` decides anything in this deployment."""
        return point not in self.disabled_points

    def failure_mode_at(self, point: EnforcementPoint) -> FailureMode:
        """What happens at ``point`` when OPA cannot decide."""
        return self.failure_mode.get(point, "closed")


def airflow_env_name(name: str) -> str:
    """The environment variable Airflow reads for option ``name`` of ``[airflow_policies]``."""
    return f"AIRFLOW__{SECTION.upper()}__{name.upper()}"


def _sensitive(name: str) -> bool:
    extra = Settings.model_fields[name].json_schema_extra
    return isinstance(extra, dict) and extra.get("sensitive") is True


def _is_structured(name: str) -> bool:
    """Whether the option's value is written as JSON (a mapping or a list)."""
    default = Settings.model_fields[name].get_default(call_default_factory=True)
    return isinstance(default, (dict, frozenset))


def _parse(name: str, raw: str, origin: str) -> Any:  # noqa: ANN401 - validated by the Settings model
    if _is_structured(name):
        example = Settings.model_fields[name].examples or ["{}"]
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(
                f"{origin} is not JSON ({exc.msg} at position {exc.pos}); expected e.g. {json.dumps(example[0])}"
            ) from None
    if raw == "" and Settings.model_fields[name].default is None:
        return None
    return raw


def _from_airflow() -> tuple[dict[str, Any], dict[str, str]]:
    """The options set in Airflow's configuration (not its defaults), and where each was set."""
    from airflow.configuration import AIRFLOW_CONFIG, conf
    from airflow.exceptions import AirflowConfigException

    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name in Settings.model_fields:
        # Airflow honours _cmd / _secret only for sensitive options; so do we.
        suffixes = ("", "_cmd", "_secret") if _sensitive(name) else ("",)
        variable = next((v for v in (airflow_env_name(name + s) for s in suffixes) if v in os.environ), None)
        in_file = next(
            (name + s for s in suffixes if configparser.ConfigParser.has_option(conf, SECTION, name + s)), None
        )
        if variable is None and in_file is None:
            continue
        origin = variable or f"[{SECTION}] {in_file} in {AIRFLOW_CONFIG}"
        try:
            raw = conf.get(SECTION, name)
        except AirflowConfigException as exc:
            raise ConfigurationError(f"cannot read {origin}: {exc}") from None
        # A value from a command (opa_token_cmd) ends with the command's newline; no option wants it.
        values[name] = _parse(name, (raw or "").strip(), origin)
        origins[name] = origin
    return values, origins


def _deprecated(origin: str, name: str) -> None:
    warnings.warn(
        f"airflow-policies: {origin} is deprecated and is read only until {_REMOVED_IN}; set [{SECTION}] {name} "
        f"in airflow.cfg or {airflow_env_name(name)} instead",
        FutureWarning,
        stacklevel=4,
    )


def _from_deprecated_environment(environ: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name in Settings.model_fields:
        variable = f"{DEPRECATED_ENV_PREFIX}{name.upper()}"
        if variable in environ:
            _deprecated(variable, name)
            values[name] = _parse(name, environ[variable], variable)
            origins[name] = variable
    return values, origins


def _from_deprecated_file(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    loaded = read_yaml(path, "airflow-policies config file")
    if loaded is None:
        return {}, {}
    if not isinstance(loaded, dict):
        raise ConfigurationError(f"airflow-policies config file {path} must hold a mapping of settings")
    origin = f"config file {path}"
    warnings.warn(
        f"airflow-policies: the YAML {origin} is deprecated and is read only until {_REMOVED_IN}; move its "
        f"settings to the [{SECTION}] section of airflow.cfg (or AIRFLOW__{SECTION.upper()}__<NAME>)",
        FutureWarning,
        stacklevel=3,
    )
    return loaded, {str(name): origin for name in loaded}


def _validated(name: str, value: object) -> object:
    try:
        return getattr(Settings.model_validate({name: value}), name)
    except ValidationError:
        return value  # reported, with its origin, when the whole configuration is validated


def _reject_conflicts(
    values: dict[str, Any], origins: dict[str, str], older: dict[str, Any], older_origins: dict[str, str]
) -> None:
    """One option set in Airflow's configuration and in a deprecated source, to different values, is an error."""
    for name, value in older.items():
        if name in values and _validated(name, values[name]) != _validated(name, value):
            raise ConfigurationError(
                f"{name} is set twice, to different values: {origins[name]} and {older_origins[name]}; "
                f"keep only [{SECTION}] {name}"
            )


def load_settings(
    config_file: Path | None = None, environ: dict[str, str] | None = None, **overrides: object
) -> Settings:
    """Build validated settings from Airflow's configuration, the deprecated sources and explicit overrides.

    Args:
        config_file: deprecated YAML file of settings; defaults to ``$AIRFLOW_POLICIES_CONFIG`` when set.
        environ: where to look for the deprecated ``AIRFLOW_POLICIES_*`` variables; defaults to
            ``os.environ``. Airflow's own options are always read through Airflow's configuration.
        overrides: values that win over everything (``None`` values are ignored), e.g. command-line flags.

    Raises:
        ConfigurationError: a value is missing, malformed, unknown or set twice; the message names the
            option and where it was set.
    """
    environ = dict(os.environ) if environ is None else environ
    if config_file is None and environ.get(_DEPRECATED_FILE_ENV):
        config_file = Path(environ[_DEPRECATED_FILE_ENV])
    values, origins = _from_airflow()
    # The deprecated sources keep their old order: the variables win over the file.
    older, older_origins = _from_deprecated_file(config_file) if config_file is not None else ({}, {})
    variables, variable_origins = _from_deprecated_environment(environ)
    older.update(variables)
    older_origins.update(variable_origins)
    _reject_conflicts(values, origins, older, older_origins)
    values.update(older)
    origins.update(older_origins)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])} "
            f"({origins.get(str(e['loc'][0]), f'[{SECTION}] ' + str(e['loc'][0]))}): {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigurationError(f"invalid airflow-policies configuration: {problems}") from None


@cache
def settings() -> Settings:
    """The process-wide settings, loaded and validated on first use."""
    return load_settings()
