"""The rollout data: per-rule action overrides and exceptions, validated before OPA ever sees them.

Loaded into OPA at ``data.airflow_policies.rollout`` (see ``docs/rollout.md``); the Rego side
(``lib/rollout``) applies it. A malformed file, an exception without an expiry, or a rule id that no
loaded rule declares is refused here, when the data loads, with a message naming the entry.
"""

from __future__ import annotations

import datetime
import difflib
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from airflow_policies._files import read_yaml, validation_problems
from airflow_policies.decision.models import Action
from airflow_policies.document.models import EnforcementPoint
from airflow_policies.exceptions import ConfigurationError

__all__ = ["ActionOverride", "PolicyException", "Rollout", "expiring", "load_rollout", "parse_days"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActionOverride(_Model):
    """Run ``rule`` with ``action`` for the listed teams and enforcement points (all when omitted)."""

    rule: str = Field(min_length=1)
    action: Action
    teams: list[str] | None = Field(default=None, min_length=1)
    enforcement_points: list[EnforcementPoint] | None = Field(default=None, min_length=1)


class PolicyException(_Model):
    """Excuse violations of ``rule`` by one team's DAGs and tasks matching the globs, until ``expires``."""

    id: str = Field(min_length=1)
    rule: str = Field(min_length=1)
    team: str = Field(min_length=1)
    dag_id: str = Field(default="*", min_length=1)
    task_id: str = Field(default="*", min_length=1)
    owner: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    ticket: str = Field(min_length=1)
    expires: datetime.date


class Rollout(_Model):
    """Everything in a rollout file."""

    actions: list[ActionOverride] = []
    exceptions: list[PolicyException] = []

    @model_validator(mode="after")
    def _unique_exception_ids(self) -> Rollout:
        seen: set[str] = set()
        for exception in self.exceptions:
            if exception.id in seen:
                raise ValueError(f"exception id {exception.id!r} is used twice")
            seen.add(exception.id)
        return self


def _unknown_rules(rollout: Rollout, known_rules: set[str]) -> list[str]:
    problems = []
    entries = [("actions", i, o.rule) for i, o in enumerate(rollout.actions)]
    entries += [("exceptions", i, e.rule) for i, e in enumerate(rollout.exceptions)]
    for section, index, rule in entries:
        if rule not in known_rules:
            close = difflib.get_close_matches(rule, sorted(known_rules), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{section}[{index}].rule: no loaded rule has the id {rule!r}{hint}")
    return problems


def load_rollout(path: Path, known_rules: set[str]) -> Rollout:
    """Read and validate a rollout file (YAML or JSON).

    Args:
        path: the rollout file.
        known_rules: ids of the rules loaded beside it; every override and exception must name one.

    Raises:
        ConfigurationError: the file is unreadable or invalid; the message names every bad entry and field.
    """
    raw = read_yaml(path, "rollout file")
    try:
        rollout = Rollout.model_validate(raw or {})
    except ValidationError as exc:
        raise ConfigurationError(f"rollout file {path} is invalid: {validation_problems(exc)}") from None
    unknown = _unknown_rules(rollout, known_rules)
    if unknown:
        raise ConfigurationError(f"rollout file {path} is invalid: {'; '.join(unknown)}")
    return rollout


def parse_days(text: str) -> int:
    """``14d`` / ``2w`` / ``14`` -> days.

    Raises:
        ValueError: not a number of days or weeks.
    """
    match = re.fullmatch(r"(\d+)\s*([dw]?)", text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 14d or 2w")
    return int(match[1]) * (7 if match[2] == "w" else 1)


def expiring(rollout: Rollout, within_days: int, today: datetime.date) -> list[PolicyException]:
    """Exceptions that expire within ``within_days`` of ``today`` (or have expired), soonest first."""
    horizon = today + datetime.timedelta(days=within_days)
    return sorted((e for e in rollout.exceptions if e.expires <= horizon), key=lambda e: (e.expires, e.id))
