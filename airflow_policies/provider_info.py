"""What Airflow's providers manager learns about this package (entry point ``apache_airflow_provider``).

Only the configuration matters: the ``[airflow_policies]`` section with every option of
:class:`~airflow_policies._config.Settings`, its description, type, default and example, generated from the
model so the two cannot drift. Airflow then shows the options in ``airflow config list``, answers
``airflow config get-value airflow_policies <name>`` and treats ``opa_token`` as sensitive (masked, and
settable through ``opa_token_cmd`` / ``opa_token_secret``).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.fields import FieldInfo

from airflow_policies._config import SECTION, Settings

__all__ = ["config_options", "get_provider_info"]

_VERSION_ADDED = "0.2.0"
_TYPES: dict[type, str] = {float: "float", int: "integer", bool: "boolean"}


def _as_config_text(value: object) -> str | None:
    """A value as ``airflow.cfg`` writes it: JSON for mappings and lists, plain text otherwise."""
    if value is None:
        return None
    if isinstance(value, (dict, list, frozenset, set)):
        return json.dumps(sorted(value) if isinstance(value, (frozenset, set)) else value)
    return str(value)


def _default(field: FieldInfo) -> str | None:
    value = field.get_default(call_default_factory=True)
    if field.default_factory is not None and not isinstance(value, (dict, frozenset)):
        return None  # a computed default (the state directory under this host's temp dir) has no fixed text
    text = _as_config_text(value)
    # Airflow expands defaults with str.format and then ConfigParser's %-interpolation.
    return None if text is None else text.replace("{", "{{").replace("}", "}}").replace("%", "%%")


def _option(field: FieldInfo) -> dict[str, Any]:
    option: dict[str, Any] = {
        "description": field.description,
        "version_added": _VERSION_ADDED,
        "type": next((name for kind, name in _TYPES.items() if field.annotation is kind), "string"),
        "example": _as_config_text((field.examples or [None])[0]),
        "default": _default(field),
    }
    extra = field.json_schema_extra
    if isinstance(extra, dict) and extra.get("sensitive") is True:
        option["sensitive"] = True
    return option


def config_options() -> dict[str, dict[str, Any]]:
    """Every option of ``[airflow_policies]`` as Airflow's provider config schema describes one."""
    return {name: _option(field) for name, field in Settings.model_fields.items()}


def get_provider_info() -> dict[str, Any]:
    """The provider info Airflow validates against its ``provider_info.schema.json``."""
    from importlib.metadata import version

    return {
        "package-name": "airflow-policies",
        "name": "airflow-policies",
        "description": "Policy-as-code team boundaries for multi-team Apache Airflow 3, decided by Open Policy Agent.",
        "versions": [version("airflow-policies")],
        "config": {
            SECTION: {
                "description": "airflow-policies: where OPA is, what happens when it cannot decide, and the "
                "enforcement points' caches, bounds and logs (docs: the README's Install section).",
                "options": config_options(),
            }
        },
    }
