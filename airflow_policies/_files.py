"""Reading the YAML documents users write, and saying precisely what is wrong with them."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from airflow_policies.exceptions import ConfigurationError

__all__ = ["read_yaml", "validation_problems"]


def read_yaml(path: Path, what: str) -> object:
    """The parsed content of a YAML (or JSON) file.

    Raises:
        ConfigurationError: the file cannot be read or parsed; the message names ``what`` and the path.
    """
    try:
        return yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigurationError(f"cannot read {what} {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{what} {path} is not valid YAML: {exc}") from None


def validation_problems(exc: ValidationError) -> str:
    """Every validation error as ``field.path: message``, joined by ``; ``."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors())
