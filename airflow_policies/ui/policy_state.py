"""What the policy holds right now, read from the configured OPA: the rules it runs, their action for each team at
each enforcement point, the rollout exceptions, and the policy revision.

The rules come from the annotations of the modules OPA serves (``GET /v1/policies``), so the page shows what
OPA runs, not what this package ships. Actions are the rollout library's own answer
(``data.airflow_policies.lib.rollout.actions`` for each team and point) over each rule's METADATA default,
so the page and the decisions cannot disagree. Read at most once per ``decision_cache_seconds``; OPA down
leaves the last good state in place, with the error shown.
"""

from __future__ import annotations

import datetime
import threading
from typing import Any, get_args

import requests
from pydantic import BaseModel, ConfigDict, ValidationError

from airflow_policies._config import settings
from airflow_policies.document.models import EnforcementPoint
from airflow_policies.policy.rollout import PolicyException

__all__ = ["ENFORCEMENT_POINTS", "PolicyState", "RuleInForce", "policy_state"]

ENFORCEMENT_POINTS: tuple[str, ...] = get_args(EnforcementPoint)
_RULE_PACKAGES = ("airflow_policies", "rules")
_TEAM_PACKAGES = ("airflow_policies", "team_rules")


class RuleInForce(BaseModel):
    """A rule OPA runs, with its METADATA and its action per team and enforcement point."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    description: str
    remediation: str
    severity: str | None
    default_action: str | None
    #: The team whose layer holds the rule (``None``: a platform rule).
    team: str | None
    #: team -> enforcement point -> action in force.
    actions: dict[str, dict[str, str]]


class PolicyState(BaseModel):
    """The rules, exceptions and revision of the OPA the deployment asks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    opa_url: str
    rules: list[RuleInForce] = []
    exceptions: list[PolicyException] = []
    revision: str | None = None
    error: str | None = None
    read_at: datetime.datetime | None = None


_lock = threading.Lock()
_cached: dict[frozenset[str], PolicyState] = {}


def _package(module: dict[str, Any]) -> list[str]:
    path = module.get("ast", {}).get("package", {}).get("path", [])
    return [str(p.get("value")) for p in path[1:]]


def _rules(modules: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str | None]]:
    found: dict[str, tuple[dict[str, Any], str | None]] = {}
    for module in modules:
        package = _package(module)
        team = package[2] if tuple(package[:2]) == _TEAM_PACKAGES and len(package) > 2 else None
        if tuple(package[:2]) not in (_RULE_PACKAGES, _TEAM_PACKAGES):
            continue
        for note in module.get("ast", {}).get("annotations", []) or []:
            rule_id = (note.get("custom") or {}).get("id")
            if note.get("scope") == "package" and rule_id:
                found[rule_id] = (note, team)
    return [found[k] for k in sorted(found)]


def _read(url: str, teams: frozenset[str]) -> PolicyState:
    current = settings()
    session = requests.Session()
    if current.opa_token:
        session.headers["Authorization"] = f"Bearer {current.opa_token}"
    timeout = (current.connect_timeout_seconds, current.read_timeout_seconds)

    def get(path: str, **params: str) -> Any:  # noqa: ANN401 - OPA's JSON
        response = session.get(f"{url}{path}", params=params, timeout=timeout)
        response.raise_for_status()
        return response.json()

    modules = get("/v1/policies").get("result", [])
    overrides: dict[tuple[str, str], dict[str, str]] = {}
    for team in sorted(teams):
        for point in ENFORCEMENT_POINTS:
            body = {"input": {"bundle": {"team": team}, "enforcement_point": point}}
            response = session.post(f"{url}/v1/data/airflow_policies/lib/rollout/actions", json=body, timeout=timeout)
            response.raise_for_status()
            overrides[(team, point)] = response.json().get("result") or {}
    rules = []
    for note, layer_team in _rules(modules):
        custom = note.get("custom") or {}
        default = custom.get("action")
        actions = {
            team: {point: overrides[(team, point)].get(custom["id"], default or "deny") for point in ENFORCEMENT_POINTS}
            for team in sorted(teams)
            if layer_team is None or team == layer_team
        }
        rules.append(
            RuleInForce(
                id=custom["id"],
                title=note.get("title", ""),
                description=" ".join(str(note.get("description", "")).split()),
                remediation=" ".join(str(custom.get("remediation", "")).split()),
                severity=custom.get("severity"),
                default_action=default,
                team=layer_team,
                actions=actions,
            )
        )
    exceptions = [
        PolicyException.model_validate(e)
        for e in get("/v1/data/airflow_policies/rollout/exceptions").get("result") or []
    ]
    meta = get("/v1/data/airflow_policies/meta/revision", provenance="true")
    bundles = (meta.get("provenance") or {}).get("bundles") or {}
    revision = (
        ",".join(f"{name}@{info.get('revision', '')}" for name, info in sorted(bundles.items()))
        if bundles
        else meta.get("result")
    )
    return PolicyState(
        opa_url=url,
        rules=rules,
        exceptions=exceptions,
        revision=revision,
        read_at=datetime.datetime.now(datetime.timezone.utc),
    )


def policy_state(teams: frozenset[str], *, refresh: bool = False) -> PolicyState:
    """The policy OPA holds for these teams, read at most once per ``decision_cache_seconds``."""
    current = settings()
    url = str(current.opa_url).rstrip("/")
    with _lock:
        cached = _cached.get(teams)
        age = (
            (datetime.datetime.now(datetime.timezone.utc) - cached.read_at).total_seconds()
            if cached is not None and cached.read_at is not None
            else None
        )
        if cached is not None and age is not None and age < current.decision_cache_seconds and not refresh:
            return cached
        try:
            state = _read(url, teams)
        except (requests.RequestException, ValueError, ValidationError, KeyError) as exc:
            problem = f"cannot read the policy from OPA at {url}: {type(exc).__name__}: {exc}"[:500]
            state = (cached or PolicyState(opa_url=url)).model_copy(update={"error": problem})
        _cached[teams] = state
        return state
