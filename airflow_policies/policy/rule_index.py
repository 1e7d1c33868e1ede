"""The rules' declarations (from their METADATA annotations) and the rule index ``docs/rules.md``."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from airflow_policies._paths import opa_binary

__all__ = ["RuleDeclaration", "declared_rules", "render_rule_index"]

_HEADER = """# Rules

Generated from the rules' METADATA by `airflow-policies rules --output docs/rules.md`; do not edit.
Each rule lives in `rego/airflow_policies/rules/<family>/<rule>/` with its tests beside it. The action is
the rule's default, which the rollout data can override per team and enforcement point
([rollout.md](rollout.md)): a violation denies (rejects the DAG), warns (admits it, with a warning in
the Airflow UI) or is a dry run (only logged); a mutation with `deny` or `warn` is applied (`warn` also
tells the DAG's authors), with `dryrun` only logged. Mutations change only allowlisted fields, only to
values the team may use. `main.*` findings come from the decision itself.

| rule | kind | action | title | summary | remediation |
|---|---|---|---|---|---|
"""


@dataclass(frozen=True)
class RuleDeclaration:
    """What a rule declares about itself in its METADATA annotation."""

    id: str
    path_id: str
    kind: str
    action: str | None
    severity: str | None
    title: str
    description: str
    remediation: str


def _cell(text: object) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


@cache
def declared_rules(rego: Path) -> tuple[RuleDeclaration, ...]:
    """Every rule package under ``rego`` (and main's own findings), as annotated."""
    inspected = subprocess.run(
        [str(opa_binary()), "inspect", "--annotations", "--format", "json", str(rego)],
        capture_output=True,
        text=True,
        check=True,
    )
    declarations = []
    for entry in json.loads(inspected.stdout).get("annotations", []):
        path = [p["value"] for p in entry["path"][1:]]
        notes = entry["annotations"]
        if path[1:2] == ["rules"] and notes.get("scope") == "package" and len(path) == 4:
            path_id = ".".join(path[2:4])
            source = Path(entry["location"]["file"]).read_text()
            kind = "mutation" if re.search(r"^mutation contains", source, re.MULTILINE) else "violation"
        elif path[:2] == ["airflow_policies", "main"] and notes.get("scope") == "rule" and len(path) == 3:
            if path[2] == "decision":
                continue
            path_id, kind = f"main.{path[2]}", "violation"
        else:
            continue
        custom = notes.get("custom", {})
        declarations.append(
            RuleDeclaration(
                id=custom.get("id", path_id),
                path_id=path_id,
                kind=kind,
                action=custom.get("action"),
                severity=custom.get("severity"),
                title=notes.get("title", ""),
                description=notes.get("description", ""),
                remediation=custom.get("remediation", ""),
            )
        )
    return tuple(sorted(declarations, key=lambda d: d.id))


def render_rule_index(declarations: Iterable[RuleDeclaration]) -> str:
    """Markdown table of the rules (every rule package and main's own findings, see :func:`declared_rules`)."""
    rows = [
        f"| `{d.id}` | {d.kind} | {d.action or 'deny'} | {_cell(d.title)} | {_cell(d.description)} "
        f"| {_cell(d.remediation)} |"
        for d in declarations
    ]
    return _HEADER + "\n".join(rows) + "\n"
