"""Configuration: the only global state of airflow-policies.

Settings come from an optional YAML file (``AIRFLOW_POLICIES_CONFIG``) overlaid by environment variables
(``AIRFLOW_POLICIES_<FIELD>``). They are validated once, when first needed, and an invalid value fails
loudly with the name of the field and where it came from.
"""

from __future__ import annotations

import json
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError

from airflow_policies._files import read_yaml
from airflow_policies.document.models import EnforcementPoint
from airflow_policies.exceptions import ConfigurationError

__all__ = ["ENV_PREFIX", "MAX_INPUT_BYTES", "FailureMode", "Settings", "load_settings", "settings"]

#: Default bound on one input document: a DAG of 10,000 plain tasks is about 4 MB.
MAX_INPUT_BYTES = 8 * 1024 * 1024

#: What happens to a DAG when no trustworthy decision can be had: rejected (closed) or admitted (open).
FailureMode = Literal["closed", "open"]
_JSON_FIELDS = {
    "bundle_teams": '{"team_a_dags": "team_a"}',
    "failure_mode": '{"worker": "open"}',
    "disabled_points": '["execution_api"]',
}

ENV_PREFIX = "AIRFLOW_POLICIES_"
_CONFIG_FILE_ENV = f"{ENV_PREFIX}CONFIG"


class Settings(BaseModel):
    """Everything a deployment configures."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    opa_url: HttpUrl = Field(
        default=HttpUrl("http://127.0.0.1:8181"), description="Base URL of the OPA server (no path)."
    )
    opa_token: str | None = Field(default=None, description="Bearer token for OPA, if it requires one.")
    decision_path: str = Field(
        default="airflow_policies/main/decision",
        pattern=r"^[A-Za-z0-9_]+(/[A-Za-z0-9_]+)*$",
        description="Data path of the decision entrypoint.",
    )
    connect_timeout_seconds: float = Field(
        default=0.5, gt=0, le=30, description="Time allowed to open the connection to OPA."
    )
    read_timeout_seconds: float = Field(
        default=2.0, gt=0, le=60, description="Time allowed between bytes of OPA's answer once connected."
    )
    failure_mode: dict[EnforcementPoint, FailureMode] = Field(
        default_factory=dict,
        description="Per enforcement point, what happens when OPA cannot decide; unlisted points fail closed.",
    )
    disabled_points: frozenset[EnforcementPoint] = Field(
        default_factory=frozenset,
        description="Enforcement points that decide nothing (every DAG, task instance or read passes them).",
    )
    decision_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="How long the DAG-processor manager, the scheduler and the Execution API reuse a decision "
        "on an unchanged DAG, task or read; 0 asks OPA every time.",
    )
    quarantine_pool: str = Field(
        default="airflow_policies_quarantine",
        min_length=1,
        max_length=256,
        description="Pool (0 slots) the scheduler re-check moves a rejected task instance to.",
    )
    breaker_reset_seconds: float = Field(
        default=30.0, ge=1, le=3600, description="How long to fail fast after OPA was unreachable, before a probe."
    )
    state_dir: Path = Field(
        default_factory=lambda: Path(tempfile.gettempdir()) / f"airflow-policies-{os.getuid()}",
        description="Directory of the circuit breaker's state, shared by the processes of one host.",
    )
    max_input_bytes: int = Field(
        default=MAX_INPUT_BYTES,
        ge=64 * 1024,
        le=256 * 1024 * 1024,
        description="Largest input document sent to OPA; a larger DAG is undecidable (see failure_mode).",
    )
    decision_log: str = Field(
        default="stderr", min_length=1, description="Where decision-log lines go: stderr, none, or a file path."
    )
    bundle_teams: dict[str, str] = Field(
        default_factory=dict,
        description="bundle name -> team, used only when Airflow's [core] multi_team is off.",
    )
    registry: Path | None = Field(
        default=None, description="Team registry file for the OPA this tool starts itself (check, demo)."
    )
    rollout: Path | None = Field(
        default=None,
        description="Rollout file (action overrides, exceptions) for the OPA this tool starts itself.",
    )
    team_rules: Path | None = Field(
        default=None, description="Directory of team layers (<team>/*.rego) for the OPA this tool starts itself."
    )
    engine: Literal["server", "wasm"] = Field(
        default="server",
        description="Where parse-time decisions (dag_processor, worker, cli) are evaluated: the OPA server, or in "
        "process from wasm_bundle; the server-side enforcement points always ask the OPA server.",
    )
    wasm_bundle: Path | None = Field(
        default=None,
        description="The rules and data as an OPA Wasm bundle (bundle build --target wasm), for engine wasm.",
    )

    def enabled(self, point: EnforcementPoint) -> bool:
        """Whether ``point`` decides anything in this deployment."""
        return point not in self.disabled_points

    def failure_mode_at(self, point: EnforcementPoint) -> FailureMode:
        """What happens at ``point`` when OPA cannot decide."""
        return self.failure_mode.get(point, "closed")


def _from_environment(environ: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        raw = environ.get(f"{ENV_PREFIX}{name.upper()}")
        if raw is None:
            continue
        if name in _JSON_FIELDS:
            try:
                values[name] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigurationError(
                    f"{ENV_PREFIX}{name.upper()} is not JSON ({exc.msg} at position {exc.pos}); "
                    f"expected an object like {_JSON_FIELDS[name]}"
                ) from None
        else:
            values[name] = raw
    return values


def _from_file(path: Path) -> dict[str, Any]:
    loaded = read_yaml(path, "airflow-policies config file")
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigurationError(f"airflow-policies config file {path} must hold a mapping of settings")
    return loaded


def load_settings(
    config_file: Path | None = None, environ: dict[str, str] | None = None, **overrides: object
) -> Settings:
    """Build validated settings from a file, the environment and explicit overrides (in rising priority).

    Args:
        config_file: YAML file of settings; defaults to ``$AIRFLOW_POLICIES_CONFIG`` when set.
        environ: the environment to read; defaults to ``os.environ``.
        overrides: values that win over both (``None`` values are ignored).

    Raises:
        ConfigurationError: a value is missing, malformed or unknown; the message names the field.
    """
    environ = dict(os.environ) if environ is None else environ
    if config_file is None and environ.get(_CONFIG_FILE_ENV):
        config_file = Path(environ[_CONFIG_FILE_ENV])
    values: dict[str, Any] = _from_file(config_file) if config_file else {}
    values.update(_from_environment(environ))
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        origin = f"config file {config_file} / " if config_file else ""
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])} ({origin}{ENV_PREFIX}{str(e['loc'][0]).upper()}): {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigurationError(f"invalid airflow-policies configuration: {problems}") from None


@cache
def settings() -> Settings:
    """The process-wide settings, loaded and validated on first use."""
    return load_settings()
