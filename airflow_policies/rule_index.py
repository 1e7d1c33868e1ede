"""The rule index (``docs/rules.md``), generated from the METADATA annotations of the rule packages."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from airflow_policies._paths import opa_binary

__all__ = ["render_rule_index"]

_HEADER = """# Rules

Generated from the rules' METADATA by `airflow-policies rules --output docs/rules.md`; do not edit.
Each rule lives in `rego/airflow_policies/rules/<family>/<rule>/` with its tests beside it. Violations
reject the DAG; mutations change an admitted DAG (only the allowlisted fields, only with values the
team may use). `main.*` findings come from the decision itself.

| rule | kind | title | summary | remediation |
|---|---|---|---|---|
"""


def _cell(text: object) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


def render_rule_index(rego: Path) -> str:
    """Markdown table of every rule package (and main's own findings) under ``rego``."""
    inspected = subprocess.run(
        [str(opa_binary()), "inspect", "--annotations", "--format", "json", str(rego)],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for entry in json.loads(inspected.stdout)["annotations"]:
        path = [p["value"] for p in entry["path"][1:]]
        notes = entry["annotations"]
        if path[1:2] == ["rules"] and notes.get("scope") == "package" and len(path) == 4:
            rule_id = ".".join(path[2:4])
            source = Path(entry["location"]["file"]).read_text()
            kind = "mutation" if re.search(r"^mutation contains", source, re.MULTILINE) else "violation"
        elif path[:2] == ["airflow_policies", "main"] and notes.get("scope") == "rule" and len(path) == 3:
            rule_id, kind = f"main.{path[2]}", "violation"
            if path[2] == "decision":
                continue
        else:
            continue
        custom = notes.get("custom", {})
        rows.append(
            f"| `{rule_id}` | {kind} | {_cell(notes.get('title'))} | {_cell(notes.get('description'))} "
            f"| {_cell(custom.get('remediation'))} |"
        )
    return _HEADER + "\n".join(sorted(rows)) + "\n"
